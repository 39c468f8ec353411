"""Alarms on what means trouble, and a dashboard that reads like the pipeline."""

from __future__ import annotations

from aws_cdk import Annotations, ArnFormat, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from functions.common.config import METRICS_NAMESPACE
from functions.common.observability import Metric
from infra.limits import ALARMS
from infra.names import Function
from infra.stage_config import StageConfig

PERIOD = Duration.minutes(ALARMS.period_minutes)


class Observability(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        functions: dict[Function, lambda_.Function],
        tasks_queue: sqs.IQueue,
        dead_letter_queue: sqs.IQueue,
        state_machine: sfn.StateMachine,
    ) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self.topic = sns.Topic(self, "Alarms", topic_name=f"{config.service_name}-alarms", enforce_ssl=True)
        # enforce_ssl writes a topic policy holding only its Deny, which replaces SNS's default
        # policy: without this Allow, CloudWatch may not publish and no alarm is ever delivered
        # (repost.aws/knowledge-center/cloudwatch-receive-sns-for-alarm-trigger).
        stack = Stack.of(self)
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowThisStacksAlarmsToPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={
                    "ArnLike": {
                        "aws:SourceArn": stack.format_arn(
                            service="cloudwatch",
                            resource="alarm",
                            resource_name=f"{config.service_name}-*",
                            arn_format=ArnFormat.COLON_RESOURCE_NAME,
                        )
                    },
                    "StringEquals": {"aws:SourceAccount": stack.account},
                },
            )
        )
        if config.alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(config.alarm_email))
        else:
            Annotations.of(self.topic).add_warning_v2(
                "ptm:AlarmsNotifyNoOne",
                "alarmEmail is not set: the alarms go to an SNS topic nobody subscribes to. Deploy with "
                "--context alarmEmail=<address>, or subscribe to the AlarmTopicArn output yourself.",
            )
        self.alarms: list[cloudwatch.Alarm] = []

        self._alarm(
            "DeadLetterQueueNotDrained",
            dead_letter_queue.metric_approximate_number_of_messages_visible(
                period=PERIOD, statistic="Maximum"
            ),
            threshold=1,
            evaluation_periods=3,
            description="Messages stay visible on the DLQ: the monitor is not recording dead letters.",
        )
        self._alarm(
            "DeadLetterQueueAge",
            dead_letter_queue.metric_approximate_age_of_oldest_message(period=PERIOD, statistic="Maximum"),
            threshold=ALARMS.dead_letter_max_age_seconds,
            description="The oldest DLQ message is over an hour old.",
        )
        started = state_machine.metric_started(period=PERIOD, statistic="Sum")
        failed = state_machine.metric_failed(period=PERIOD, statistic="Sum")
        self._alarm(
            "ExecutionFailureRate",
            cloudwatch.MathExpression(
                expression="IF(started > 0, 100 * (failed + timedOut) / started, 0)",
                using_metrics={
                    "started": started,
                    "failed": failed,
                    "timedOut": state_machine.metric_timed_out(period=PERIOD, statistic="Sum"),
                },
                period=PERIOD,
                label="Failed executions (%)",
            ),
            threshold=config.execution_failure_alarm_percent,
            description="Express executions fail (retries exhausted) far more often than expected.",
        )
        self._alarm(
            Metric.START_THROTTLED,
            self._custom(Metric.START_THROTTLED, "StartExecution throttled"),
            threshold=1,
            description=(
                "Dispatch's StartExecution calls are throttled (the Express start quota): lower "
                "dispatchMaxConcurrency or raise the quota."
            ),
        )
        self._alarm(
            Metric.DEPENDENCY_MISCONFIGURED,
            self._custom(Metric.DEPENDENCY_MISCONFIGURED, "AWS calls refused for good"),
            threshold=1,
            description=(
                "AWS refused a call that no retry fixes (access denied, a missing table or queue): "
                "check the functions' permissions and resource names."
            ),
        )
        self._alarm(
            Metric.ENQUEUE_DEFERRED,
            self._custom(Metric.ENQUEUE_DEFERRED, "Enqueue deferred"),
            threshold=1,
            description=(
                "Accepted tasks could not be sent to the queue (SQS throttled or unavailable); "
                "reconcile sends them after RECONCILE_AFTER_SECONDS."
            ),
        )
        for function, fn in functions.items():
            self._alarm(
                f"{function.value.title()}Throttles",
                fn.metric_throttles(period=PERIOD, statistic="Sum"),
                threshold=1,
                description=f"The {function.value} function is throttled.",
            )
            if function is Function.PROCESS:
                errors = cloudwatch.MathExpression(
                    expression="IF(invocations > 0, 100 * errors / invocations, 0)",
                    using_metrics={
                        "errors": fn.metric_errors(period=PERIOD, statistic="Sum"),
                        "invocations": fn.metric_invocations(period=PERIOD, statistic="Sum"),
                    },
                    period=PERIOD,
                    label="process errors (%)",
                )
                self._alarm(
                    "ProcessErrorRate",
                    errors,
                    threshold=ALARMS.process_error_rate_percent,
                    description="Far more process attempts fail than FAILURE_RATE explains.",
                )
            else:
                self._alarm(
                    f"{function.value.title()}Errors",
                    fn.metric_errors(period=PERIOD, statistic="Sum"),
                    threshold=1,
                    description=f"The {function.value} function raised errors.",
                )

        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=config.service_name)
        process = functions[Function.PROCESS]
        duplicates = self._custom(Metric.DUPLICATES_SKIPPED, "Duplicates skipped")
        succeeded = cloudwatch.MathExpression(
            expression="executionsSucceeded - FILL(duplicates, 0)",
            using_metrics={
                "executionsSucceeded": state_machine.metric_succeeded(period=PERIOD, statistic="Sum"),
                "duplicates": duplicates,
            },
            period=PERIOD,
            label="Succeeded",
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Pipeline: submitted → started → succeeded / failed → dead-lettered",
                left=[
                    self._custom(Metric.TASKS_SUBMITTED, "Submitted"),
                    started.with_(label="Executions started"),
                    succeeded,
                    failed.with_(label="Executions failed"),
                    self._custom(Metric.DEAD_LETTERS_WORKFLOW_FAILURE, "Dead-lettered (workflow)"),
                    self._custom(Metric.DEAD_LETTERS_UNDELIVERABLE, "Dead-lettered (undeliverable)"),
                ],
                width=24,
            ),
            cloudwatch.GraphWidget(
                title="Retries and duplicates",
                left=[
                    process.metric_errors(
                        period=PERIOD,
                        statistic="Sum",
                        label="Failed attempts (process errors: retried or caught)",
                    ),
                    duplicates,
                    self._custom(Metric.ENQUEUE_DEFERRED, "Enqueue deferred"),
                    self._custom(Metric.TASKS_REENQUEUED, "Re-enqueued by reconcile"),
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Queues",
                left=[
                    tasks_queue.metric_approximate_number_of_messages_visible(label="Tasks queue visible"),
                    dead_letter_queue.metric_approximate_number_of_messages_visible(label="DLQ visible"),
                ],
                right=[tasks_queue.metric_approximate_age_of_oldest_message(label="Oldest task message (s)")],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Function duration p95 (ms)",
                left=[
                    fn.metric_duration(statistic="p95", label=function.value)
                    for function, fn in functions.items()
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Function errors and throttles",
                left=[
                    fn.metric_errors(label=f"{function.value} errors") for function, fn in functions.items()
                ],
                right=[
                    fn.metric_throttles(label=f"{function.value} throttles")
                    for function, fn in functions.items()
                ],
                width=12,
            ),
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms), width=24),
        )

    def _custom(self, name: str, label: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=METRICS_NAMESPACE,
            metric_name=name,
            dimensions_map={"service": self._config.service_name},
            statistic="Sum",
            period=PERIOD,
            label=label,
        )

    def _alarm(
        self,
        name: str,
        metric: cloudwatch.IMetric,
        *,
        threshold: float,
        description: str,
        evaluation_periods: int = 1,
    ) -> None:
        alarm = cloudwatch.Alarm(
            self,
            name,
            alarm_name=f"{self._config.service_name}-{name}",
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            evaluation_periods=evaluation_periods,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(actions.SnsAction(self.topic))
        self.alarms.append(alarm)
