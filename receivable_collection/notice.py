# This file is part of receivable_collection.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""The notification text (advisering) of a collection, as plain lines.

Plain Python: the journal gives the template's choices, the customer's items
and how to format dates and amounts; the result is the list of text lines
that Nets prints on the payment overview and the e-mail notification sends."""
import string
import textwrap
from dataclasses import dataclass
from decimal import Decimal

# the columns a template can show, in their order on an item line
COLUMNS = ('number', 'invoice_date', 'due_date', 'description', 'amount')


@dataclass(frozen=True)
class NoticeItem:
    "One collected item as the customer reads it."
    number: str
    invoice_date: object
    due_date: object
    description: str
    amount: Decimal


@dataclass(frozen=True)
class NoticeLayout:
    "What the template shows: header, item columns, subtotal, footer, width."
    header: str = ''
    footer: str = ''
    columns: tuple = COLUMNS
    subtotal: bool = True
    subtotal_label: str = 'Total'
    width: int = 60


def _fill(text, values):
    "Replace ${name} placeholders; unknown ones are left as written."
    return string.Template(text or '').safe_substitute(values)


def _wrap(text, width):
    "Wrap each paragraph line to the width, keeping blank lines."
    lines = []
    for paragraph in text.splitlines():
        if not paragraph.strip():
            lines.append('')
            continue
        lines.extend(textwrap.wrap(
                paragraph, width=width, break_long_words=True,
                break_on_hyphens=False) or [''])
    return lines


def item_line(layout, item, format_date, format_amount):
    "The line of one item: its columns, the amount right-aligned at the end."
    parts = []
    for column in layout.columns:
        if column == 'amount':
            continue
        value = getattr(item, column)
        if value is None or value == '':
            continue
        if column in {'invoice_date', 'due_date'}:
            value = format_date(value)
        parts.append(str(value))
    text = '  '.join(parts)
    if 'amount' not in layout.columns:
        return text[:layout.width]
    amount = format_amount(item.amount)
    room = layout.width - len(amount) - 1
    if room < 1:
        return amount[-layout.width:]
    if len(text) > room:
        text = text[:room]
    return f'{text:<{room}} {amount}'


def build_notice(layout, items, values, format_date, format_amount):
    """Return the notification lines of one customer.

    values fills the ${...} placeholders of header and footer (party, date,
    total, company ...); items are NoticeItem in the order to show."""
    if layout.width < 20:
        raise ValueError(f"width {layout.width}: a notice line needs at least 20 characters")
    lines = _wrap(_fill(layout.header, values), layout.width)
    if lines and lines[-1]:
        lines.append('')
    for item in items:
        lines.append(item_line(layout, item, format_date, format_amount))
    if layout.subtotal and items:
        total = format_amount(sum((i.amount for i in items), Decimal(0)))
        label = layout.subtotal_label
        room = layout.width - len(total) - 1
        lines.append('-' * layout.width)
        lines.append(f'{label[:room]:<{room}} {total}')
    footer = _wrap(_fill(layout.footer, values), layout.width)
    if footer:
        lines.append('')
        lines.extend(footer)
    while lines and not lines[-1]:
        lines.pop()
    return lines
