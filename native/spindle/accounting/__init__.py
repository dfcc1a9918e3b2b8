"""Memory accounting: the runtime measures, by the planner's own terms, what the planner
predicts (docs/planner.md §2.3). See accountant.py for what each term is measured from."""
from .accountant import Accountant

__all__ = ['Accountant']
