"""tiaojie (调解): the case system of a district's labor-dispute mediation centers."""
