"""Personal data in events: sealed with a data key per person, opened through the key store.

Pure: no I/O. A *sealed* value is a string `tj:sealed:v1:<key id>:<base64 nonce+ciphertext>`
(AES-GCM, the key id as associated data), so a sealed event keeps its shape and every
copy of it (event stores, queues, consumers' read models, backups) stays unreadable
once its key is destroyed. Opening walks any JSON value and replaces each sealed string
by its clear text, or by `ERASED` when its key is gone; plain strings (events stored
before sealing began) pass unchanged, which is what keeps old events readable.

A key belongs to one person of one case (`applicant`, `respondent`, and `text` for free
text that may name both), derived from the one key the case stores (`derived_key`): its
id is the stored key's random id (`new_wrapped_keys`) and the person's label, and which key
a stream's subject uses is read from the stream's own sealed values (`bindings`), so a key
needs no round trip to be found and an erasure finds a case's stored key in its events.
"""

import base64
import binascii
import functools
import hashlib
import hmac
import os
import re
import threading

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.events import (
    AgreementReached,
    ApplicationWithdrawn,
    CaseNotAccepted,
    ComplaintAnswered,
    ComplaintFiled,
    ConsultationRecorded,
    MediationFailed,
    MediationOutcomeNoted,
    MediationWithdrawn,
    MediatorAssigned,
    MediatorRegistered,
    PersonalDataErased,
    ReferralDeclined,
    ReviewDecided,
    ReviewOutcomeRecorded,
    ReviewRequested,
    SessionHeld,
    SurveyRecorded,
    WithdrawalOverruled,
    WithdrawalRefused,
)

SEALED_PREFIX = "tj:sealed:v1:"
ERASED = "[已删除]"
KEY_BYTES = 32
_NONCE_BYTES = 12

# Which fields of an event's data are personal, and whose key seals them. A dict field
# is sealed leaf by leaf (its shape and these clear keys stay readable).
PERSONAL_FIELDS = {"applicant": "applicant", "respondent": "respondent", "description": "text"}
# The personal fields of some event types only (the same name is clear elsewhere: the reason an
# operator gives for an erasure is not personal): intake's and mediation's free text, with the
# case's `text` key, and a mediator's name, with the key of that mediator (`MEDIATOR`: one key per mediator,
# shared by every stream that names them, never destroyed by a case's erasure). A dotted
# path names a field inside a dict field.
MEDIATOR = "mediator"
EVENT_FIELDS = {
    ConsultationRecorded.name: {"topic": "text"},  # about no case: the consultation's own key
    CaseNotAccepted.name: {"reason": "text"},
    ApplicationWithdrawn.name: {"reason": "text"},
    WithdrawalOverruled.name: {"withdrawal_reason": "text"},  # intake's own withdrawal's, quoted
    MediatorRegistered.name: {"name": MEDIATOR},
    MediatorAssigned.name: {"mediator_name": MEDIATOR},
    SessionHeld.name: {"summary": "text"},
    AgreementReached.name: {"terms": "text", "mediator_name": MEDIATOR},
    MediationFailed.name: {"reason": "text"},
    MediationWithdrawn.name: {"reason": "text"},
    WithdrawalRefused.name: {"withdrawal_reason": "text"},
    MediationOutcomeNoted.name: {"reason": "text"},  # intake's copy of a failure's or withdrawal's reason
    ReviewRequested.name: {"agreement.terms": "text"},
    ReviewOutcomeRecorded.name: {"reason": "text"},
    SurveyRecorded.name: {"comment": "text"},
    ComplaintFiled.name: {"text": "text"},
    ComplaintAnswered.name: {"answer": "text"},
    # The institute's reasons about a case, sealed by the link with a key derived from the
    # case's own (`case_root_in` the referral's message), so the case's erasure reaches them.
    ReferralDeclined.name: {"reason": "text"},
    ReviewDecided.name: {"reason": "text"},
}
CLEAR_KEYS = frozenset({"id_type", "type", "kind"})
# What a stream records once its personal data is erased (its keys destroyed).
ERASURE_EVENT = PersonalDataErased.name


class RandomBytes:
    """Random bytes from the operating system, drawn `size` at a time and each handed out once.

    Sealing takes a nonce per value: an `os.urandom` call each would release the GIL (a system
    call) as often, and hand it to the key pool's thread in the middle of a request (the pool
    draws a whole batch's at once, `new_wrapped_keys`). A child process drops what its parent
    drew, so no two processes hand out the same bytes."""

    def __init__(self, size=4096):
        self.size = size
        self._lock = threading.Lock()
        self._drop()
        os.register_at_fork(after_in_child=self._drop)

    def _drop(self):
        self._buffer, self._at = b"", 0

    def take(self, count):
        with self._lock:
            if self._at + count > len(self._buffer):
                self._buffer, self._at = os.urandom(max(self.size, count)), 0
            start, self._at = self._at, self._at + count
            return self._buffer[start : self._at]


random_bytes = RandomBytes().take


class MasterKeyMissing(RuntimeError):
    """No master key configured: personal data cannot be sealed or opened."""


class MasterKey:
    """Wraps and unwraps data keys; derives the search key. Never stored beside the data."""

    def __init__(self, secret):
        if len(secret) != KEY_BYTES:
            raise ValueError("the master key must be 32 bytes")
        self._aead = AESGCM(secret)
        self.search_key = hmac.new(secret, b"tiaojie search index v1", hashlib.sha256).digest()

    @classmethod
    def from_text(cls, text):
        return cls(base64.b64decode(text.strip(), validate=True))

    @staticmethod
    def generate_text():
        return base64.b64encode(os.urandom(KEY_BYTES)).decode("ascii")

    def wrap(self, key_id, data_key, nonce=None):
        nonce = random_bytes(_NONCE_BYTES) if nonce is None else nonce
        return nonce + self._aead.encrypt(nonce, data_key, key_id.encode("utf-8"))

    def unwrap(self, key_id, wrapped):
        wrapped = bytes(wrapped)
        return self._aead.decrypt(wrapped[:_NONCE_BYTES], wrapped[_NONCE_BYTES:], key_id.encode("utf-8"))


def master_key_file(env):
    """`TIAOJIE_MASTER_KEY_FILE`, by default `$XDG_STATE_HOME/tiaojie/master.key`
    (`~/.local/state/tiaojie/master.key`): outside the databases and their backups."""
    if env.get("TIAOJIE_MASTER_KEY_FILE"):
        return env["TIAOJIE_MASTER_KEY_FILE"]
    state = env.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(state, "tiaojie", "master.key")


def master_key_from_env(env):
    """`TIAOJIE_MASTER_KEY` (base64 of 32 bytes) or the file `master_key_file(env)` holds."""
    text = env.get("TIAOJIE_MASTER_KEY")
    if not text:
        try:
            with open(master_key_file(env), encoding="ascii") as handle:
                text = handle.read()
        except FileNotFoundError:
            raise MasterKeyMissing(
                f"no master key at {master_key_file(env)}: run `tiaojie setup`, or set TIAOJIE_MASTER_KEY_FILE"
            ) from None
    return MasterKey.from_text(text)


def ensure_master_key_file(env):
    """Creates the master key file (mode 0600) unless a key is configured; returns its path or None."""
    if env.get("TIAOJIE_MASTER_KEY"):
        return None
    path = master_key_file(env)
    if os.path.exists(path):
        return path
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(MasterKey.generate_text() + "\n")
    return path


def new_data_key():
    return random_bytes(KEY_BYTES)  # what AESGCM.generate_key gives: os.urandom's bytes


_KEY_ID_BYTES = 16


def new_wrapped_keys(master, count):
    """`[(key id, data key, wrapped key)]` of `count` new keys: the randomness of the whole batch
    (ids of 32 random hex digits, keys, the wrapping's nonces) drawn from the operating system at
    once."""
    size = _KEY_ID_BYTES + KEY_BYTES + _NONCE_BYTES
    drawn = os.urandom(size * count)
    made = []
    for start in range(0, size * count, size):
        key_id = drawn[start : start + _KEY_ID_BYTES].hex()
        key = drawn[start + _KEY_ID_BYTES : start + _KEY_ID_BYTES + KEY_BYTES]
        made.append((key_id, key, master.wrap(key_id, key, drawn[start + _KEY_ID_BYTES + KEY_BYTES : start + size])))
    return made


@functools.lru_cache(maxsize=4096)
def cipher(data_key):
    """The cipher of a data key, made once for the many fields a key seals and opens (the key
    store's pool makes those of new keys ahead, `Vault._stored_keys`)."""
    return AESGCM(data_key)


@functools.lru_cache(maxsize=4096)
def sealer(key_id, data_key):
    """What sealing with one key repeats for each value: its cipher's `encrypt`, the key id as
    associated data, and the sealed strings' common start."""
    return cipher(data_key).encrypt, key_id.encode("utf-8"), f"{SEALED_PREFIX}{key_id}:"


# A case's persons' keys come from one stored key (its *root*): each is derived from it with
# HKDF-Expand (RFC 5869; the root, 32 random bytes, is the pseudorandom key, and the person's
# label is the info), so a new case stores one key, not three, and destroying the root erases
# every key derived from it. A derived key's id is the root's id and the label: `<root id>.<label>`.
# Ids without a label (keys stored before derivation began) name a stored key directly.
SUBJECT_LABELS = {"applicant": "a", "respondent": "r", "text": "t", MEDIATOR: "m"}
_DERIVATION = b"tiaojie data key v1:"


def derived_key_id(root_id, subject):
    """The id of `subject`'s key derived from the stored key `root_id`."""
    return f"{root_id}.{SUBJECT_LABELS[MEDIATOR if shared_subject(subject) else subject]}"


def root_key_id(key_id):
    """The id of the stored key a key id names or is derived from."""
    return key_id.partition(".")[0]


def stream_root(bound):
    """The stored key a stream's persons' keys are derived from (`{subject: key id}`), or None:
    a person who joins the stream later gets a key derived from it too (a mediator's key is the
    mediator's own, never a case's)."""
    roots = [root_key_id(key_id) for subject, key_id in bound.items() if "." in key_id and not shared_subject(subject)]
    return min(roots, default=None)


def case_root_in(message):
    """The stored key of the case whose parties a message copies sealed (a referral's: the
    applicant's key's, or the respondent's), or None when they are not sealed."""
    for party in ("applicant", "respondent"):
        ids = sealed_key_ids(message.get(party)) if isinstance(message, dict) else None
        if ids:
            return root_key_id(min(ids))
    return None


@functools.lru_cache(maxsize=4096)
def derived_key(root_key, label):
    """HKDF-Expand(root key, info, 32 bytes): one block of HMAC-SHA256 (None for a destroyed root)."""
    if root_key is None:
        return None
    return hmac.digest(root_key, _DERIVATION + label.encode("ascii") + b"\x01", "sha256")


def key_from_root(key_id, root_key):
    """The data key `key_id` names, given the key of its root (the root's own for an id without a label)."""
    _, dot, label = key_id.partition(".")
    return derived_key(root_key, label) if dot else root_key


def seal_value(key_id, data_key, text):
    return _text_sealer(key_id, data_key)(text)


# A sealed value may also sit inside a longer text (a document's sentence names a party).
_SEALED = re.compile(re.escape(SEALED_PREFIX) + r"([A-Za-z0-9_.\-/]+):([A-Za-z0-9+/]+=*)")


def is_sealed(value):
    return isinstance(value, str) and value.startswith(SEALED_PREFIX)


_SEALED_WHOLE = re.compile(_SEALED.pattern + r"\Z")


def _decrypt(key_id, payload, data_key):
    raw = binascii.a2b_base64(payload)
    return cipher(data_key).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], key_id.encode("utf-8")).decode("utf-8")


def key_id_of(sealed):
    """The key id a sealed string starts with (None for another string)."""
    if not sealed.startswith(SEALED_PREFIX):
        return None
    return sealed[_PREFIX_LENGTH : sealed.find(":", _PREFIX_LENGTH)]


_PREFIX_LENGTH = len(SEALED_PREFIX)


def open_tree(value, key_of, pairs, used, known=None):
    """`value` (any JSON) with every sealed string opened, in one walk. `key_of(key id)` gives
    the data key, or None when it is destroyed (the part reads `ERASED`); `used` (a set) gets
    every key id met; `pairs` (a dict) gets `{clear text: sealed text}` of each string that
    starts sealed, as `sealed_pairs` has them. `known` (`{sealed: clear}`) spares decrypting a
    whole sealed string whose key is live, and gets the ones decrypted. The leaves of a dict or
    list are taken in place (most of an event is clear): a call of its own only for what holds
    more, or is sealed."""
    if isinstance(value, str):
        return value if SEALED_PREFIX not in value else _open_text(value, key_of, pairs, used, known)
    if isinstance(value, dict):
        opened = {}
        for k, v in value.items():
            kind = type(v)
            if kind is str:
                opened[k] = v if SEALED_PREFIX not in v else _open_text(v, key_of, pairs, used, known)
            elif kind in _CLEAR_LEAVES:
                opened[k] = v
            else:
                opened[k] = open_tree(v, key_of, pairs, used, known)
        return opened
    if isinstance(value, list):
        opened = []
        for v in value:
            kind = type(v)
            if kind is str:
                opened.append(v if SEALED_PREFIX not in v else _open_text(v, key_of, pairs, used, known))
            elif kind in _CLEAR_LEAVES:
                opened.append(v)
            else:
                opened.append(open_tree(v, key_of, pairs, used, known))
        return opened
    return value


_CLEAR_LEAVES = frozenset({int, float, bool, type(None)})


def _open_text(value, key_of, pairs, used, known):
    """A string with a sealed value in it, opened (`open_tree`)."""
    opened = None if known is None else known.get(value)
    if opened is not None:  # a whole sealed value opened before: no need to parse it either
        key_id = value[_PREFIX_LENGTH : value.find(":", _PREFIX_LENGTH)]  # `key_id_of`: it starts sealed
        used.add(key_id)
        if key_of(key_id) is None:
            return ERASED
        if opened != ERASED:
            pairs[opened] = value
        return opened
    whole = _SEALED_WHOLE.match(value)
    if whole is not None:  # the common case: one sealed value, the whole string
        key_id = whole.group(1)
        used.add(key_id)
        data_key = key_of(key_id)
        if data_key is None:
            return ERASED
        opened = _decrypt(key_id, whole.group(2), data_key)
        if known is not None:
            known[value] = opened
    else:  # sealed parts inside a longer text (a document's sentence)

        def part(match):
            used.add(match.group(1))
            data_key = key_of(match.group(1))
            return ERASED if data_key is None else _decrypt(match.group(1), match.group(2), data_key)

        opened = _SEALED.sub(part, value)
    if opened and opened != ERASED and value.startswith(SEALED_PREFIX):
        pairs[opened] = value
    return opened


@functools.cache
def personal_fields(event_type=None):
    """`{field path: subject}` of an event type's data (intake's fields for every type). Shared:
    not to be changed by the caller."""
    return {**PERSONAL_FIELDS, **EVENT_FIELDS.get(event_type, {})}


def shared_subject(subject):
    """True for a subject whose key is a person's across streams (a mediator's), not one case's."""
    return subject.startswith(MEDIATOR + ":")


def _subject(subject, data):
    if subject == MEDIATOR:
        return f"{MEDIATOR}:{data.get('mediator_id')}"
    return subject


def _get(data, path):
    for part in path.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def _set(data, path, value):
    """A copy of `data` with the field at `path` replaced (the dicts on the way copied)."""
    head, _, rest = path.partition(".")
    copied = dict(data)
    copied[head] = _set(data[head], rest, value) if rest else value
    return copied


def _fields(data, event_type):
    """`(path, subject, value)` of each personal field present in `data`."""
    for path, subject in personal_fields(event_type).items():
        value = _get(data, path)
        if value:
            yield path, _subject(subject, data), value


def subjects_in(data, event_type=None):
    """The key subjects an event's data needs: one per personal field present."""
    return sorted({subject for _, subject, _ in _fields(data, event_type)})


def seal(data, key_ids, keys, event_type=None, pairs=None, fields=None, reuse=None):
    """`data` with its personal fields sealed: `key_ids[subject]` names the key of each subject,
    `keys[key id]` is the key (None when destroyed: the value is then `ERASED`, never clear).
    `pairs` (a dict) gets `{clear text: sealed text}` of each string sealed (`sealed_pairs`);
    `fields` are `personal_fields_in(data, event_type)` when the caller has them already.
    `reuse` (`{clear: sealed}`, what the unit of work opened or sealed) gives the sealed text
    of a value copied from an earlier event with the same key: kept, not encrypted anew."""
    sealed = data
    for path, subject, value in personal_fields_in(data, event_type) if fields is None else fields:
        key_id = key_ids[subject]
        sealed = _set(sealed, path, _seal_tree(value, _text_sealer(key_id, keys.get(key_id), pairs, reuse)))
    return sealed


def personal_fields_in(data, event_type=None):
    """`[(path, subject, value)]` of each personal field present in `data`."""
    return list(_fields(data, event_type))


def bindings(data, event_type=None):
    """`{subject: key id}` as the sealed personal fields of one event's data use them."""
    found = {}
    for _, subject, value in _fields(data, event_type):
        ids = sealed_key_ids(value)
        if ids:
            found[subject] = min(ids)
    return found


def case_key_ids(events):
    """The stored keys `(event type, data)` pairs of a case were sealed with (or derived from),
    but a mediator's: what erasing the case destroys (a mediator's name belongs to the mediator,
    not to the case)."""
    found, shared = set(), set()
    for event_type, data in events:
        found |= sealed_key_ids(data)
        for _, subject, value in _fields(data, event_type):
            if shared_subject(subject):
                shared |= sealed_key_ids(value)
    return {root_key_id(key_id) for key_id in found} - {root_key_id(key_id) for key_id in shared}


def _seal_tree(value, seal_text):
    if isinstance(value, str):
        return value if not value or value.startswith(SEALED_PREFIX) else seal_text(value)
    if isinstance(value, dict):
        return {k: v if k in CLEAR_KEYS else _seal_tree(v, seal_text) for k, v in value.items()}
    if isinstance(value, list):
        return [_seal_tree(v, seal_text) for v in value]
    return value


def _text_sealer(key_id, data_key, pairs=None, reuse=None):
    """`seal_text(text)` with one key (`ERASED` when it is destroyed): what `seal` does to each
    clear string of a field, the key's cipher looked up once for them all."""
    if data_key is None:
        return lambda text: ERASED
    encrypt, associated, start = sealer(key_id, data_key)

    def seal_text(text):
        earlier = None if reuse is None else reuse.get(text)
        if earlier is not None and earlier.startswith(start):
            sealed = earlier  # the same text under the same key: a copy (the case's parties in its acceptance)
        else:
            nonce = random_bytes(_NONCE_BYTES)
            sealed = start + binascii.b2a_base64(
                nonce + encrypt(nonce, text.encode("utf-8"), associated), newline=False
            ).decode("ascii")
        if pairs is not None and text != ERASED:
            pairs[text] = sealed
        return sealed

    return seal_text


def _clear_texts(value):
    found = []

    def walk(value):
        if isinstance(value, dict):
            for k, v in value.items():
                if k not in CLEAR_KEYS:
                    walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, str) and value and value != ERASED and not is_sealed(value):
            found.append(value)

    walk(value)
    return found


def needs_sealing(data, event_type=None):
    """True when a personal field of `data` still holds clear text (an event stored before sealing)."""
    return any(_clear_texts(value) for _, _, value in _fields(data, event_type))


def clear_values(data, event_type=None):
    """`{subject: [texts]}`: the personal texts of an (opened) event's data or case view."""
    found = {}
    for _, subject, value in _fields(data, event_type):
        texts = _clear_texts(value)
        if texts:
            found.setdefault(subject, []).extend(texts)
    return found


def sealed_pairs(clear, sealed):
    """`{clear text: sealed text}` of each sealed string of `sealed` beside the text it stands for
    in `clear` (the same JSON before sealing, or opened)."""
    found = {}

    def walk(c, s):
        if isinstance(s, dict) and isinstance(c, dict):
            for k, v in s.items():
                if k in c:
                    walk(c[k], v)
        elif isinstance(s, list) and isinstance(c, list):
            for a, b in zip(c, s, strict=False):
                walk(a, b)
        elif is_sealed(s) and isinstance(c, str) and c and c != s and c != ERASED:
            found[c] = s

    walk(clear, sealed)
    return found


def seal_whole(value, sealed):
    """`value` (any JSON) with each string that is a key of `sealed` (`{clear: sealed}`) replaced
    by its sealed text: a response built from opened events, kept as sealed as they are."""
    if isinstance(value, dict):
        return {k: seal_whole(v, sealed) for k, v in value.items()}
    if isinstance(value, list):
        return [seal_whole(v, sealed) for v in value]
    if isinstance(value, str):
        return sealed.get(value, value)
    return value


def replace_clear(value, replacements):
    """`value` (any JSON) with each clear text of `replacements` (`[(clear, sealed)]`, longest
    first) replaced wherever it appears, inside longer texts too: how the copies other
    services made before sealing began (a document's sentences) are sealed in place."""
    if isinstance(value, dict):
        return {k: replace_clear(v, replacements) for k, v in value.items()}
    if isinstance(value, list):
        return [replace_clear(v, replacements) for v in value]
    if isinstance(value, str):
        for clear, sealed in replacements:
            if clear in value:
                value = value.replace(clear, sealed)
    return value


def sealed_key_ids(value):
    """Every key id a JSON value's sealed strings name."""
    found = set()

    def walk(v):
        if isinstance(v, dict):
            for item in v.values():
                walk(item)
        elif isinstance(v, list):
            for item in v:
                walk(item)
        elif isinstance(v, str) and SEALED_PREFIX in v:
            found.update(match.group(1) for match in _SEALED.finditer(v))

    walk(value)
    return found


def open_sealed(value, keys):
    """`value` (any JSON) with every sealed string opened (or `ERASED` where its key is not in
    `keys`: destroyed)."""
    return open_tree(value, keys.get, {}, set())


def search_token(search_key, identifier):
    """The keyed hash an ID number or credit code is found by: whole, case-insensitive."""
    normalized = identifier.strip().upper().encode("utf-8")
    return hmac.digest(search_key, normalized, "sha256").hex()


def mask_id_number(value):
    """`650105********123X`: the region and the last four stay."""
    if not value or value == ERASED:
        return value
    if len(value) <= 8:
        return value[:1] + "*" * (len(value) - 1)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value):
    """`139****5678`."""
    if not value or value == ERASED:
        return value
    if len(value) < 8:
        return value[:1] + "*" * (len(value) - 1)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]
