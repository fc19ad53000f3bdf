"""Use cases: each opens one unit of work, applies the domain's rules, and commits once."""
