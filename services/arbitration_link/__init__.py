"""arbitration_link: the mediation–arbitration link (调裁衔接) with the district arbitration institute.

Keeps its own case files from intake's and mediation's events, sends referrals and
review requests to the institute over AMQP (CONTRACTS §4), and turns its replies into
events. The message contract lives in `contract/` (JSON Schemas and AsyncAPI).
"""
