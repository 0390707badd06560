from ctlabel.cli.main import app

app(prog_name="ctlabel")
