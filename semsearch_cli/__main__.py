from semsearch_cli import app

app()
