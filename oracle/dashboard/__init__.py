"""`verai dashboard`: a live, read-only web page of the network.

``settings`` what the process is told; ``view`` pages pinned to one ingested block;
``history`` queries over the logs, blocks and heartbeats tables; ``pages/`` one module per page;
``charts``, ``format``, ``events`` and ``calldata`` shape values for the templates (pure);
``transactions`` the gas and calldata of report transactions; ``audits`` the `verai audit`
verdicts; ``live`` the ingestion thread and the server-sent events; ``app`` the aiohttp
application; ``service`` the process. Templates in ``templates/``, the page's script, style and
the vendored uPlot in ``static/``.
"""
