"""Use cases: what each handler asks for, in plain Python over the adapters of ``functions.common``
(the tasks table, the queues, the workflow) and the task types. Handlers import these; nothing in
``functions.common`` imports them (``lint-imports`` checks the layers)."""
