"""Money: one quantizing helper, display formatting and 人民币大写.

Money is always ``Decimal`` rounded to the fen (0.01) with ROUND_HALF_UP (四舍五入), never float:
``money()`` refuses floats so a binary fraction cannot slip into an amount.

Pure Python: no Django import; the template filters and the engine call these functions.
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

__all__ = ["CENT", "format_money", "money", "to_cents", "to_chinese_capitals"]

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def money(value: Decimal | int | str) -> Decimal:
    """``value`` as a Decimal quantized to 0.01 with ROUND_HALF_UP.

    Accepts Decimal, int and numeric strings ("12.345", " 80000 "). Raises TypeError for float
    (and bool, None, …) and ValueError for text that is not a finite number. A result of zero
    is always +0.00, never -0.00.
    """
    if type(value) is Decimal and value.is_finite():
        try:
            amount = to_cents(value)
        except InvalidOperation:  # more digits than the decimal context holds (28)
            raise ValueError(f"amount too large: {value!r}") from None
        return amount if amount else ZERO
    return _money_converted(value)


def to_cents(amount: Decimal) -> Decimal:
    """The rounding itself (四舍五入 to the fen), for a finite Decimal a caller has already
    validated: the assessment engine's steps, whose inputs `validate_bill` checked. `money()` is
    this plus its type, finiteness and -0.00 checks; the rule is written once, here."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _money_converted(value) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        raise TypeError(
            f"money() takes Decimal, int or str, not {type(value).__name__}; money is never float"
        )
    try:
        amount = (
            value
            if isinstance(value, Decimal)
            else Decimal(value.strip() if isinstance(value, str) else value)
        )
    except InvalidOperation:
        raise ValueError(f"not an amount of money: {value!r}") from None
    if not amount.is_finite():
        raise ValueError(f"not an amount of money: {value!r}")
    try:
        amount = to_cents(amount)
    except InvalidOperation:
        raise ValueError(f"amount too large: {value!r}") from None
    return amount if amount else ZERO


def format_money(value: Decimal | int | str) -> str:
    """Thousands separators and two decimals: "80,000.00", "-1,234.50"."""
    return f"{money(value):,.2f}"


_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_PLACES = ("", "拾", "佰", "仟")  # place inside a 4-digit section
_LIMIT = 10**16  # up to 玖仟玖佰玖拾玖万亿; a DecimalField(14, 2) stays below 10**12


def _integer_capitals(number: int) -> str:
    """Capitals of a positive integer, without the 元.

    Digits are read from the top in 4-digit sections (万, 亿, 万亿). A run of zeros between
    two written digits becomes one 零, and so does a section that is all zeros; zeros that end
    a section (万位 is 0) are not written before the next section's 仟 digit.
    """
    digits = str(number)
    parts: list[str] = []
    zero_pending = False
    for index, char in enumerate(digits):
        position = len(digits) - 1 - index
        digit = int(char)
        if digit == 0:
            zero_pending = bool(parts)
        else:
            if zero_pending:
                parts.append("零")
                zero_pending = False
            parts.append(_DIGITS[digit] + _PLACES[position % 4])
        if position == 4 and (number // 10**4) % 10**4:
            parts.append("万")
            zero_pending = False
        elif position == 8:  # 亿 is written whenever anything stands above it: 壹万亿
            parts.append("亿")
            zero_pending = False
        elif position == 12 and (number // 10**12) % 10**4:
            parts.append("万")
            zero_pending = False
    return "".join(parts)


def to_chinese_capitals(value: Decimal | int | str) -> str:
    """人民币大写 (accounting capitals) of an amount, rounded half-up to the fen first.

    Conventions, after the People's Bank of China 《正确填写票据和结算凭证的基本规定》 (支付结算
    办法 annex) and 《会计基础工作规范》 §52; where these allow a choice, the choice is noted:

    - Digits 零壹贰叁肆伍陆柒捌玖, places 拾佰仟, sections 万 亿; a leading ten is written 壹拾
      (10 → 壹拾元整, 100000 → 壹拾万).
    - Zeros between digits, however many, are written as one 零 (1001 → 壹仟零壹,
      1010101 → 壹佰零壹万零壹佰零壹); trailing zeros are not written.
    - 万位 zero followed by a non-zero 仟位: no 零 (105000 → 壹拾万伍仟, one of the two
      permitted forms).
    - An amount with no 角 and no 分 ends in 元整 (3500 → 叁仟伍佰元整, 0 → 零元整). The rules
      allow but do not require 整 after 角; we do not write it (10.50 → 壹拾元伍角).
    - 分 is never followed by 整.
    - 零 between 元 and the fractional part when 角 is zero and 分 is not (1.05 → 壹元零伍分,
      10.05 → 壹拾元零伍分; required by the rules).
    - When 元位 is zero and 角 is not, the rules permit 零 or not (¥1,680.32 may be written
      either way). We treat 元 like the other section units: zeros that end a non-zero section
      are absorbed by its unit (10.50 → 壹拾元伍角, 1680.32 → 壹仟陆佰捌拾元叁角贰分, as
      105000 → 壹拾万伍仟), while a section that is all zeros is written as 零 (20000.30 →
      贰万元零叁角, 100000.10 → 壹拾万元零壹角, as 100000001 → 壹亿零壹元). Never two 零.
    - Amounts under one yuan have no 元 and no leading 零 (0.50 → 伍角, 0.05 → 伍分,
      0.55 → 伍角伍分).
    - Negative amounts are prefixed 负 (-12.00 → 负壹拾贰元整); an amount that rounds to zero
      has no sign.
    - Amounts of 10**16 yuan or more raise ValueError.
    - The 人民币 prefix is not included: the printed form already carries it.
    """
    amount = money(value)
    sign = "负" if amount < 0 else ""
    fen_total = int(abs(amount) * 100)
    yuan, cents = divmod(fen_total, 100)
    jiao, fen = divmod(cents, 10)
    if yuan >= _LIMIT:
        raise ValueError(f"amount too large for capitals: {amount}")

    if yuan == 0 and cents == 0:
        return "零元整"
    parts = [sign]
    if yuan:
        parts.append(_integer_capitals(yuan) + "元")
        if cents == 0:
            parts.append("整")
        elif jiao == 0 or yuan % 10**4 == 0:  # see the 元位 rule above
            parts.append("零")
    if jiao:
        parts.append(_DIGITS[jiao] + "角")
    if fen:
        parts.append(_DIGITS[fen] + "分")
    return "".join(parts)
