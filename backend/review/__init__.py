"""The alarm review: a clinic manager's figures for tuning limits against alarm fatigue."""
