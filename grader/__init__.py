"""cnnkit.grader: hidden tests, sandboxed runner, scoring, reports and the command line."""
