"""Safe XML reading and writing shared by the pain.002 and camt.054 codecs.

Reading: lxml without entity resolution, DTD loading or network access; a document with
a DOCTYPE is refused outright (no XXE, no entity expansion). ``Node`` walks the tree and
keeps an XPath-like path and the source line of every element, so each value read can be
blamed precisely in a ``SepaFormatError``.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from lxml import etree

from .errors import SepaFormatError

_AMOUNT = re.compile(r'\+?([0-9]*)(?:\.([0-9]*))?\Z')
_CURRENCY = re.compile(r'[A-Z]{3}\Z')
_DATE = re.compile(r'[0-9]{4}-[0-9]{2}-[0-9]{2}\Z')
_DATETIME = re.compile(
    r'([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})(\.[0-9]+)?'
    r'(Z|[+-][0-9]{2}:[0-9]{2})?\Z')
MAX_FRACTION_DIGITS = 5
MAX_TOTAL_DIGITS = 18


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
        huge_tree=False, remove_comments=True, remove_pis=True)


def parse_root(
        data: bytes, namespaces: Mapping[str, str], message: str,
        ) -> tuple[str, Node]:
    """Parse ``data`` and return ``(version, node of the message element)``.

    ``namespaces`` maps each accepted namespace URI to its version name; ``message`` is
    the element expected directly under ``Document`` (e.g. ``CstmrPmtStsRpt``).
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError('SEPA documents are parsed from bytes, got %s' % type(data).__name__)
    data = bytes(data)
    if not data.strip():
        raise SepaFormatError(0, 'Document', 'the file is empty')
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exception:
        line = exception.lineno or 0
        text = (exception.msg or str(exception)).strip()
        raise SepaFormatError(
            line, 'Document',
            f'not well-formed XML (truncated or damaged file?): {text}') from None
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise SepaFormatError(1, 'Document', 'a DOCTYPE is not allowed in a SEPA document')
    qname = etree.QName(root)
    if qname.localname != 'Document':
        raise SepaFormatError(
            root.sourceline or 0, qname.localname,
            f'the root element must be Document, not {qname.localname}')
    namespace = qname.namespace or ''
    if namespace not in namespaces:
        expected = ', '.join(sorted(namespaces.values()))
        raise SepaFormatError(
            root.sourceline or 0, 'Document',
            f'unknown namespace {namespace!r}: expected one of {expected}')
    document = Node(root, 'Document', namespace)
    return namespaces[namespace], document.req(message)


class Node:
    """An element being read, with its XPath-like path for error messages."""

    __slots__ = ('element', 'path', 'namespace')

    def __init__(self, element, path: str, namespace: str):
        self.element = element
        self.path = path
        self.namespace = namespace

    @property
    def line(self) -> int:
        """The 1-based source line where the element starts."""
        return self.element.sourceline or 0

    def error(self, message: str, name: str | None = None) -> SepaFormatError:
        """Build the error for this element (or for its child ``name``)."""
        field = self.path if name is None else f'{self.path}/{name}'
        return SepaFormatError(self.line, field, message)

    def _children(self, name: str):
        return self.element.findall(f'{{{self.namespace}}}{name}')

    def opt(self, name: str) -> Node | None:
        """The child ``name`` if present; two of a single-valued child are refused."""
        children = self._children(name)
        if not children:
            return None
        if len(children) > 1:
            second = Node(children[1], f'{self.path}/{name}', self.namespace)
            raise second.error(f'{name} occurs more than once')
        return Node(children[0], f'{self.path}/{name}', self.namespace)

    def req(self, name: str) -> Node:
        """The mandatory child ``name``; its absence is an error on this element's line."""
        node = self.opt(name)
        if node is None:
            raise self.error('missing mandatory element', name)
        return node

    def all(self, name: str) -> list[Node]:
        """Every child ``name``, each with its 1-based index in the path."""
        return [
            Node(child, f'{self.path}/{name}[{i}]', self.namespace)
            for i, child in enumerate(self._children(name), 1)]

    def has(self, name: str) -> bool:
        """True when the child ``name`` is present."""
        return bool(self._children(name))

    # --- values ------------------------------------------------------------------

    def value(self, max_length: int | None = 35) -> str:
        """The text of this element, stripped; empty or too long text is refused."""
        text = (self.element.text or '').strip()
        if not text:
            raise self.error('empty value')
        if max_length is not None and len(text) > max_length:
            raise self.error(f'value longer than {max_length} characters: {text[:40]!r}')
        return text

    def text(self, name: str, required: bool = False, max_length: int | None = 35):
        """The text of child ``name`` (``None`` when absent and optional)."""
        node = self.req(name) if required else self.opt(name)
        return None if node is None else node.value(max_length)

    def texts(self, name: str, max_length: int | None = 140) -> tuple[str, ...]:
        """The texts of every child ``name``."""
        return tuple(node.value(max_length) for node in self.all(name))

    def code(self, name: str, allowed, required: bool = False):
        """A code of child ``name`` that must be one of ``allowed``."""
        node = self.req(name) if required else self.opt(name)
        if node is None:
            return None
        value = node.value(None)
        if value not in allowed:
            raise node.error(
                f'unknown code {value!r}, expected one of {", ".join(sorted(allowed))}')
        return value

    def amount_value(self) -> tuple[Decimal, str]:
        """This element as ``(amount, currency)``: a non-negative decimal and its ``Ccy``."""
        text = (self.element.text or '').strip()
        if text.startswith('-'):
            raise self.error(f'negative amount {text!r} is not allowed')
        match = _AMOUNT.match(text)
        if not text or match is None or not (match.group(1) or match.group(2)):
            raise self.error(f'amount {text!r} is not a valid decimal')
        whole, fraction = match.group(1), match.group(2) or ''
        if len(fraction) > MAX_FRACTION_DIGITS:
            raise self.error(f'amount {text!r} has more than {MAX_FRACTION_DIGITS} decimals')
        if len(whole.lstrip('0')) + len(fraction) > MAX_TOTAL_DIGITS:
            raise self.error(f'amount {text!r} has more than {MAX_TOTAL_DIGITS} digits')
        try:
            amount = Decimal(text.lstrip('+'))
        except InvalidOperation:  # pragma: no cover - the pattern already guards it
            raise self.error(f'amount {text!r} is not a valid decimal') from None
        currency = self.element.get('Ccy')
        if currency is None:
            raise SepaFormatError(self.line, f'{self.path}/@Ccy', 'missing currency')
        if not _CURRENCY.match(currency):
            raise SepaFormatError(
                self.line, f'{self.path}/@Ccy',
                f'currency {currency!r} is not 3 capital letters')
        return amount, currency

    def amount(self, name: str, required: bool = False):
        """Child ``name`` as ``(amount, currency)``, or ``(None, None)`` when absent."""
        node = self.req(name) if required else self.opt(name)
        if node is None:
            return None, None
        return node.amount_value()

    def date_value(self) -> date:
        """This element as an ISO date (YYYY-MM-DD)."""
        text = self.value(None)
        if _DATE.match(text):
            try:
                return date.fromisoformat(text)
            except ValueError:
                pass
        raise self.error(f'bad date {text!r}, expected YYYY-MM-DD')

    def date(self, name: str, required: bool = False) -> date | None:
        """Child ``name`` as an ISO date."""
        node = self.req(name) if required else self.opt(name)
        return None if node is None else node.date_value()

    def datetime_value(self) -> datetime:
        """This element as an ISO date-time; fractions beyond microseconds are cut."""
        text = self.value(None)
        match = _DATETIME.match(text)
        if match:
            base, fraction, zone = match.groups()
            fraction = (fraction or '')[:7]
            zone = '+00:00' if zone == 'Z' else (zone or '')
            try:
                return datetime.fromisoformat(base + fraction + zone)
            except ValueError:
                pass
        raise self.error(f'bad date and time {text!r}, expected YYYY-MM-DDThh:mm:ss')

    def datetime(self, name: str, required: bool = False) -> datetime | None:
        """Child ``name`` as an ISO date-time."""
        node = self.req(name) if required else self.opt(name)
        return None if node is None else node.datetime_value()

    def date_choice(self, name: str) -> date | None:
        """Child ``name`` holding ``Dt`` or ``DtTm``, as a date (the time is dropped)."""
        node = self.opt(name)
        if node is None:
            return None
        if node.has('Dt'):
            return node.date('Dt')
        if node.has('DtTm'):
            return node.datetime('DtTm').date()
        raise node.error('missing mandatory element Dt or DtTm')

    def boolean(self, name: str) -> bool | None:
        """Child ``name`` as an XML boolean."""
        node = self.opt(name)
        if node is None:
            return None
        value = node.value(None)
        if value in ('true', '1'):
            return True
        if value in ('false', '0'):
            return False
        raise node.error(f'bad boolean {value!r}, expected true or false')


# --- writing ---------------------------------------------------------------------

class Writer:
    """Builds elements in one namespace."""

    def __init__(self, namespace: str):
        self.namespace = namespace

    def root(self) -> etree._Element:
        """A new ``Document`` element with the namespace as default."""
        return etree.Element(f'{{{self.namespace}}}Document', nsmap={None: self.namespace})

    def sub(self, parent, name: str, text: str | None = None, **attributes):
        """Append child ``name`` with optional text and attributes and return it."""
        element = etree.SubElement(parent, f'{{{self.namespace}}}{name}', **attributes)
        if text is not None:
            element.text = text
        return element

    def opt(self, parent, name: str, text: str | None):
        """Append child ``name`` only when ``text`` is not None."""
        if text is not None:
            self.sub(parent, name, text)

    def amount(self, parent, name: str, amount: Decimal, currency: str):
        """Append an amount element with its ``Ccy`` attribute."""
        return self.sub(parent, name, amount_text(amount), Ccy=currency)


def amount_text(amount: Decimal) -> str:
    """Format a non-negative Decimal for an ISO 20022 amount (no exponent, no sign)."""
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise ValueError(f'amount must be a finite Decimal, got {amount!r}')
    if amount < 0:
        raise ValueError(f'amount must not be negative, got {amount}')
    text = format(amount, 'f')
    whole, _, fraction = text.partition('.')
    if len(fraction) > MAX_FRACTION_DIGITS or \
            len(whole.lstrip('0')) + len(fraction) > MAX_TOTAL_DIGITS:
        raise ValueError(
            f'amount {text} has more than {MAX_FRACTION_DIGITS} decimals '
            f'or {MAX_TOTAL_DIGITS} digits')
    return text


def serialize(root) -> bytes:
    """The document as UTF-8 bytes with an XML declaration."""
    return etree.tostring(root, xml_declaration=True, encoding='UTF-8', pretty_print=True)
