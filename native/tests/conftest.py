import os
import sys

NATIVE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for p in (NATIVE, os.path.join(NATIVE, 'tests')):
    if p not in sys.path:
        sys.path.insert(0, p)
