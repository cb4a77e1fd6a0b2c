# This file is part of receivable_collection_agency.  The COPYRIGHT file at
# the top level of this repository contains the full copyright notices and
# license terms.
"Scenario doctests of receivable_collection_agency."
from trytond.tests.test_tryton import load_doc_tests


def load_tests(*args, **kwargs):
    "Load the scenario_*.rst doctests."
    return load_doc_tests(__name__, __file__, *args, **kwargs)
