"""The webhook's SSRF policy: every refused address class, as a literal and as a name that
resolves to it, at submit and again at delivery. The unit tier blocks every socket, so a refused
target that were contacted would fail the test with pytest-socket's error, not pass."""

from __future__ import annotations

import pytest

from functions.common.errors import InvalidRequestError, PermanentTaskError, TaskFailedError
from functions.task_types.destinations import (
    DestinationPolicy,
    DestinationRefusedError,
    DestinationUnresolvedError,
    parse_allowed_hosts,
)
from functions.task_types.registry import Attempt, TaskEnvironment
from functions.task_types.webhook import Webhook, WebhookPayload

REFUSED = [
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("::1", "loopback"),
    ("10.0.0.8", "private"),
    ("172.16.5.4", "private"),
    ("192.168.1.1", "private"),
    ("100.64.0.1", "shared"),
    ("169.254.169.254", "link-local"),
    ("169.254.170.2", "link-local"),
    ("fe80::1", "link-local"),
    ("fd00:ec2::254", "unique-local"),
    ("fc00::5", "unique-local"),
    ("224.0.0.251", "multicast"),
    ("ff02::1", "multicast"),
    ("0.0.0.0", "unspecified"),
    ("::", "unspecified"),
    ("240.0.0.1", "reserved"),
    ("192.0.2.10", "private"),
    ("::ffff:169.254.169.254", "link-local, embedded"),
    ("::ffff:127.0.0.1", "loopback, embedded"),
    ("64:ff9b::a9fe:a9fe", "link-local, embedded"),
    ("2002:a9fe:a9fe::1", "link-local, embedded"),
]
PUBLIC = "93.184.215.14"


def _url(address: str) -> str:
    host = f"[{address}]" if ":" in address else address
    return f"https://{host}/hook"


class FakeDns:
    """Names resolved from a table, the answers changeable (DNS rebinding)."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.asked: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        if host not in self.table:
            raise OSError(-2, "Name or service not known")
        return self.table[host]


@pytest.mark.parametrize(("address", "reason"), REFUSED)
def test_each_refused_address_class_as_a_literal(address: str, reason: str) -> None:
    with pytest.raises(DestinationRefusedError, match=reason):
        DestinationPolicy(resolve=FakeDns({})).check(_url(address))


@pytest.mark.parametrize(("address", "reason"), REFUSED)
def test_each_refused_address_class_as_a_name_that_resolves_to_it(address: str, reason: str) -> None:
    dns = FakeDns({"hooks.example.com": [address]})
    with pytest.raises(DestinationRefusedError, match=f"resolves to {address}, which is refused .*{reason}"):
        DestinationPolicy(resolve=dns).check("https://hooks.example.com/x")


def test_one_refused_address_among_public_ones_refuses_the_name() -> None:
    dns = FakeDns({"mixed.example.com": [PUBLIC, "10.1.1.1"]})
    with pytest.raises(DestinationRefusedError, match=r"10\.1\.1\.1"):
        DestinationPolicy(resolve=dns).check("https://mixed.example.com/")


@pytest.mark.parametrize(
    "host",
    ["2130706433", "0x7f000001", "0177.0.0.1", "127.1", "0x7f.1", "017700000001", "0xa9fea9fe"],
)
def test_numeric_forms_that_resolvers_read_as_ipv4_are_checked_as_addresses(host: str) -> None:
    with pytest.raises(DestinationRefusedError, match=r"loopback|link-local"):
        DestinationPolicy(resolve=FakeDns({})).check(f"https://{host}/")


@pytest.mark.parametrize(
    ("url", "says"),
    [
        (f"http://{PUBLIC}/", "only https"),
        ("ftp://files.example.com/", "only https"),
        ("file:///etc/passwd", "only https"),
        ("gopher://h.example.com:70/", "only https"),
        ("javascript:alert(1)", "only https"),
        ("/relative/path", "only https"),
        ("https:///no-host", "no host"),
        (f"https://user:secret@{PUBLIC}/", "credentials"),  # pragma: allowlist secret (refused)
        (f"https://{PUBLIC}:99999/", "malformed"),
        (f"https://{PUBLIC}/a b", "white space"),
        (f"https://{PUBLIC}/\r\nHost: evil", "white space"),
        (f"https://{PUBLIC}/#frag", "fragment"),
        ("https://" + "a" * 2050 + ".com/", "longer than"),
    ],
)
def test_other_schemes_and_malformed_urls_are_refused(url: str, says: str) -> None:
    with pytest.raises(DestinationRefusedError, match=says):
        DestinationPolicy(resolve=FakeDns({})).check(url)


def test_a_public_https_destination_keeps_the_addresses_it_was_approved_for() -> None:
    dns = FakeDns({"hooks.example.com": [PUBLIC, "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]})
    destination = DestinationPolicy(resolve=dns).check("https://Hooks.Example.com.:8443/in?x=1")
    assert destination.host == "hooks.example.com"
    assert destination.port == 8443
    assert destination.target == "/in?x=1"
    assert destination.addresses == (PUBLIC, "2606:2800:21f:cb07:6820:80da:af6b:8b2c")
    assert not destination.allowed_by_name


def test_allowed_hosts_lift_the_scheme_and_address_checks_for_those_hosts_only() -> None:
    policy = DestinationPolicy(
        parse_allowed_hosts(" 127.0.0.1 , Receiver.Internal ,"),
        resolve=FakeDns({"receiver.internal": ["10.0.0.7"], "other.internal": ["10.0.0.8"]}),
    )
    assert policy.check("http://127.0.0.1:9000/hook").allowed_by_name
    assert policy.check("http://receiver.internal/hook").addresses == ("10.0.0.7",)
    with pytest.raises(DestinationRefusedError, match="private"):
        policy.check("https://other.internal/")
    with pytest.raises(DestinationRefusedError, match="loopback"):
        policy.check("https://127.0.0.2/")
    with pytest.raises(DestinationRefusedError, match="only https"):
        policy.check("ftp://127.0.0.1/")


def test_a_name_that_does_not_resolve_is_unresolved_not_refused() -> None:
    with pytest.raises(DestinationUnresolvedError):
        DestinationPolicy(resolve=FakeDns({})).check("https://nowhere.example.com/")


def _payload(url: str) -> WebhookPayload:
    return WebhookPayload.model_validate({"type": "webhook", "url": url, "body": {"a": 1}})


def test_submit_refuses_a_refused_destination_naming_the_url_field() -> None:
    environment = TaskEnvironment(destinations=DestinationPolicy(resolve=FakeDns({})))
    with pytest.raises(InvalidRequestError) as refused:
        Webhook().validate(
            {"type": "webhook", "url": "https://169.254.169.254/latest/meta-data/"}, environment
        )
    fields = refused.value.details["fields"]
    assert isinstance(fields, dict)
    assert set(fields) == {"url"}
    assert "link-local" in fields["url"]


def test_delivery_checks_again_and_refuses_a_name_rebound_to_the_metadata_service() -> None:
    """Admitted at submit (a public address), the name resolves to 169.254.169.254 by delivery:
    the attempt fails permanently and nothing is contacted (sockets are blocked here)."""
    dns = FakeDns({"rebind.example.com": [PUBLIC]})
    environment = TaskEnvironment(destinations=DestinationPolicy(resolve=dns))
    payload = Webhook().validate({"type": "webhook", "url": "https://rebind.example.com/h"}, environment)
    dns.table["rebind.example.com"] = ["169.254.169.254"]

    with pytest.raises(PermanentTaskError, match="link-local"):
        Webhook().run(payload, Attempt("t-1", 1, environment))
    assert dns.asked == ["rebind.example.com", "rebind.example.com"]


@pytest.mark.parametrize(("address", "reason"), REFUSED[:8])
def test_delivery_refuses_literal_targets_without_contacting_them(address: str, reason: str) -> None:
    environment = TaskEnvironment(destinations=DestinationPolicy(resolve=FakeDns({})))
    with pytest.raises(PermanentTaskError, match="destination refused"):
        Webhook().run(_payload(_url(address)), Attempt("t-1", 1, environment))


def test_a_name_that_stops_resolving_at_delivery_is_retried() -> None:
    environment = TaskEnvironment(destinations=DestinationPolicy(resolve=FakeDns({})))
    with pytest.raises(TaskFailedError, match="does not resolve"):
        Webhook().run(_payload("https://gone.example.com/"), Attempt("t-1", 1, environment))


def test_a_deployer_can_restrict_webhooks_to_its_allowed_hosts() -> None:
    dns = FakeDns({"hooks.partner.example": [PUBLIC], "elsewhere.example": [PUBLIC]})
    policy = DestinationPolicy.from_setting("hooks.partner.example", only_allowed_hosts=True)
    policy = DestinationPolicy(policy.allowed_hosts, resolve=dns, only_allowed_hosts=True)

    assert policy.check("https://hooks.partner.example/in").addresses == (PUBLIC,)
    with pytest.raises(DestinationRefusedError, match="not one of this deployment's webhook hosts"):
        policy.check("https://elsewhere.example/in")
    with pytest.raises(DestinationRefusedError, match="not one of"):
        DestinationPolicy(only_allowed_hosts=True, resolve=dns).check("https://elsewhere.example/in")
