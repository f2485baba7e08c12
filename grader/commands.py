"""The grader's subcommands (``assign``, ``grade``, ``demo``, ``report``, ``course``, ``gradescope``),
registered with the dispatcher."""


def register(subparsers):
    from . import assign_command, course_command, grade_command, report_command
    from .gradescope import command as gradescope_command
    assign_command.register(subparsers)
    grade_command.register(subparsers)
    report_command.register(subparsers)
    course_command.register(subparsers)
    gradescope_command.register(subparsers)
