"Cross-module scenario doctests (tests/scenario_*.rst)."
from trytond.tests.test_tryton import load_doc_tests


def load_tests(*args, **kwargs):
    "Load the scenario_*.rst doctests of this folder."
    return load_doc_tests(__name__, __file__, *args, **kwargs)
