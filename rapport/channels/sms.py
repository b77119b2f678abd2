"""SMS: a text to `customer.phone`; the customer opts out by replying STOP."""

from dataclasses import dataclass

from rapport.channels.base import ChannelSpec

SMS = ChannelSpec(
    name="sms",
    address=("customer", "phone"),
    opt_out="Reply STOP to opt out of texts.",
    opt_out_required=True,
    description="text messages, delivered by a Twilio-style API (provider twilio) or a webhook",
)

# The answer to a HELP reply, after the creditor's own contact line (`RAPPORT_SMS_HELP_CONTACT`).
HELP_ANSWER = "Reply STOP to stop texts."
DEFAULT_HELP_CONTACT = "Questions about your account? Call us on the number on your bill."
# What the HELP answer starts with when RAPPORT_SMS_HELP_CONTACT is left as it is: the
# creditor's name and phone (RAPPORT_CREDITOR_NAME, RAPPORT_CREDITOR_PHONE), in the
# customer's language.
CREDITOR_HELP_CONTACT = "{creditor}: questions about your account? Call us on {phone}."

# --- how many billed segments a text is (3GPP TS 23.038, the GSM 7-bit alphabet) ----------

# The GSM 7-bit default alphabet: a text made of these alone is sent 7 bits a character.
GSM7 = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Its extension table: each of these takes two characters' room (an escape, then it).
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")
GSM7_SINGLE, GSM7_PART = 160, 153  # a text alone; each part of a longer one (its header)
UCS2_SINGLE, UCS2_PART = 70, 67


@dataclass(frozen=True)
class SmsLength:
    """What a text costs: its encoding, its length in that encoding's units, and the
    segments a carrier bills. `outside_gsm7` names the characters that forced UCS-2."""

    encoding: str  # "GSM-7" or "UCS-2"
    characters: int
    units: int
    segments: int
    outside_gsm7: tuple[str, ...] = ()

    def describe(self) -> str:
        s = "" if self.segments == 1 else "s"
        why = ""
        if self.outside_gsm7:
            shown = " ".join(repr(c) for c in self.outside_gsm7[:5])
            why = f"; {shown} not in the GSM-7 alphabet"
        return f"{self.segments} segment{s} ({self.encoding}, {self.characters} characters{why})"


def sms_length(text: str) -> SmsLength:
    """Segments as carriers count them: GSM-7 when every character is in the GSM
    alphabet (extension characters such as € and [ count double), 160 alone or 153 a
    part; otherwise UCS-2, 70 alone or 67 a part (UTF-16 units: an emoji is two). A
    part never splits an escape pair or a surrogate pair."""
    outside = tuple(dict.fromkeys(c for c in text if c not in GSM7 and c not in GSM7_EXTENSION))
    if not outside:
        costs = [2 if c in GSM7_EXTENSION else 1 for c in text]
        single, part, encoding = GSM7_SINGLE, GSM7_PART, "GSM-7"
    else:
        costs = [len(c.encode("utf-16-le")) // 2 for c in text]
        single, part, encoding = UCS2_SINGLE, UCS2_PART, "UCS-2"
    units = sum(costs)
    if units <= single:
        return SmsLength(encoding, len(text), units, 1 if text else 0, outside)
    segments, room = 1, part
    for cost in costs:
        if cost > room:
            segments, room = segments + 1, part
        room -= cost
    return SmsLength(encoding, len(text), units, segments, outside)
