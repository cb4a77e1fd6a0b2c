# This file is part of receivable_collection_nets.  The COPYRIGHT file at the
# top level of this repository contains the full copyright notices and
# license terms.
"Nets Betalingsservice deliveries among the collection files."
from trytond.pool import PoolMeta

FORMATS = [
    ('nets_0601', "Nets BS 0601 Collection Data"),
    ('nets_0602', "Nets BS 0602 Payment Information"),
    ('nets_0603', "Nets BS 0603 Mandate Information"),
    ]


class File(metaclass=PoolMeta):
    "Collection files in the Nets Betalingsservice formats."
    __name__ = 'receivable.collection.file'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        for format in FORMATS:
            if format not in cls.format.selection:
                cls.format.selection.append(format)
