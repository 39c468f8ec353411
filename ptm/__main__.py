from ptm.main import app

app(prog_name="ptm")
