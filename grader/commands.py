"""The grader's subcommands (``assign``, ``grade``, ``demo``, ``report``), registered with the dispatcher."""


def register(subparsers):
    from . import assign_command, grade_command, report_command
    assign_command.register(subparsers)
    grade_command.register(subparsers)
    report_command.register(subparsers)
