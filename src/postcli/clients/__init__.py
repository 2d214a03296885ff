"""Which HTML and CSS features an email uses, and how the email clients a newsletter cares
about support them (the caniemail data of postcli.data).

    from postcli.clients.report import Email, client_report, format_table

    report = client_report([Email("free", html, sources)], ["gmail", "outlook"])
    report.rows(), report.to_fix(), report.unsupported(), report.as_dict()
    format_table(report)

analyze.py parses HTML and CSS into uses; postcli.data loads the shipped data; report.py
matches the two. Both are pure. issue.py is the one adapter that knows an Issue: it gives each
block of the issue's body as HTML with its file line, so a feature can be traced to its line.

Nothing is imported here: importing a submodule does not load the others.
"""
