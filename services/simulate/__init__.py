"""`tiaojie simulate`: a district's workload, driven through the staff HTTP APIs only."""
