"""Pure tests of hub.domain: rules checked on construction, workflows, recurrence, folding."""
