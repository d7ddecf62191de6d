"""The intake service: consultations, applications and the acceptance decision at a mediation center."""
