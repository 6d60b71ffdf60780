"""lunatest: the end-to-end test harness of lunapbx (Python 3 standard
library only).  See spec/support/README.md; tests import it through
spec/support/harness.py."""
