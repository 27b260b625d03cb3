"""`make run`: the whole platform on one machine (control plane, Git repository, local runner)."""
