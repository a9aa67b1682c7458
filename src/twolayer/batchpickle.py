"""A parser for the pickles of the CIFAR-10 python archive, and for nothing else.

A CIFAR-10 batch is a pickled dict of byte strings, lists of ints, and one NumPy
array of plain numbers. Python's unpickler is a small virtual machine that calls
whatever the file names; even restricted to NumPy's own reconstructors it reaches
NumPy code whose memory safety rests on the file (object dtypes, structured fields,
states shorter than their shapes) and memo references that let a 1 KB file describe
a structure of 2**40 leaves. This parser runs none of Python's or NumPy's pickle
machinery. It reads the opcodes that protocols 2 to 5 use for such a dict and builds
the objects itself:

- containers (dict, list, tuple) may not be referenced twice, so no structure is
  larger than the file that describes it, and dict keys are strings or bytes;
- the only callables a file may name are NumPy's array, dtype and scalar
  reconstructors and the two byte-string builders of protocol 2, and each is
  answered here, with plain numeric dtypes only (no object, structured, sub-array
  or flexible type) and raw data whose length equals its shape times its item size;
- at most ``MAX_OBJECTS`` objects, container slots, marks and memo entries are made;
- every byte it materializes counts against ``BYTES_PER_FILE_BYTE`` times the file's size
  (plus ``SPARE_BYTES``): a byte string each time it is read or used again from the memo,
  the text an encoder is given and the bytes it makes, each array's data; so a byte
  string memoized once cannot be turned into thousands of arrays;
- containers nest at most ``MAX_DEPTH`` deep (a batch nests 3 deep), tuples included, so
  no structure reaches Python's recursion limit.

So time and memory stay a small multiple of the file's size. ``python -m benchmarks.hostile``
measures the worst cases built so far, each read in a process of its own, and docs/faults.md
("What the worst inputs cost") holds its table: on the reference machine a genuine batch
reads in 0.13 s (31 MB, protocol 4) to 0.38 s (46 MB, protocol 2) at a peak of about 3 times
its size, a 1.1 MB file that would make 1 GB of arrays from one memoized byte string is
refused having added 4 MB, and a tuple nested 5,000 deep at its ninth level.

Everything else is refused with a ``PickleFormatError`` that says what was found.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

import numpy as np

# A CIFAR-10 batch makes about 5 objects, slots and memo entries per image (its label and
# its file name) and, written by Python 3 at protocol 2, about 11 (each byte string is a
# call); a file within the 64 MiB member cap holds at most 21,845 images of 3,072 bytes,
# which comes to about 240,000. Each counts some 100 bytes at most: 50 MB in all.
MAX_OBJECTS = 500_000
# Bytes materialized per byte of the file: a Python 3 pickle at protocol 2 writes an array's
# data as latin-1 text (up to 2 bytes of UTF-8 per byte), which becomes that text, its encoded
# bytes and the array: about 3.5 bytes for each of the file's.
BYTES_PER_FILE_BYTE = 4
SPARE_BYTES = 1 << 20
# A batch is a dict of lists and arrays; a call's arguments are a tuple holding a tuple.
MAX_DEPTH = 8
# The plain numeric types an array or scalar may have (NumPy's dtype codes without byte order).
NUMERIC_CODES = frozenset({"b1", "i1", "u1", "i2", "u2", "i4", "u4", "i8", "u8", "f4", "f8"})
MAX_ARRAY_DIMENSIONS = 2


class PickleFormatError(ValueError):
    """The pickle holds something a CIFAR-10 batch never holds, or is malformed."""


class _Global:
    """A callable the file named: only ever compared, never called."""

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return self.name


NDARRAY = _Global("numpy.ndarray")
RECONSTRUCT = _Global("numpy _reconstruct")
DTYPE = _Global("numpy.dtype")
SCALAR = _Global("numpy scalar")
FROMBUFFER = _Global("numpy _frombuffer")
ENCODE = _Global("_codecs.encode")
BYTES = _Global("bytes")

GLOBALS = {("numpy", "ndarray"): NDARRAY, ("numpy", "dtype"): DTYPE, ("_codecs", "encode"): ENCODE,
           ("__builtin__", "bytes"): BYTES, ("builtins", "bytes"): BYTES}
for _package in ("numpy.core", "numpy._core"):
    GLOBALS[(f"{_package}.multiarray", "_reconstruct")] = RECONSTRUCT
    GLOBALS[(f"{_package}.multiarray", "scalar")] = SCALAR
    GLOBALS[(f"{_package}.numeric", "_frombuffer")] = FROMBUFFER


@dataclass
class _Dtype:
    """``numpy.dtype(code)`` as the file asked for it; BUILD may then set its byte order."""

    code: str
    dtype: np.dtype


@dataclass
class _PendingArray:
    """``_reconstruct(ndarray, (0,), ...)``: an array whose shape, dtype and data BUILD sets."""


_MARK = object()


def _text(value, what: str) -> str:
    """A short ASCII string from the file (Python 2 wrote them as bytes)."""
    if isinstance(value, bytes):
        value = value.decode("ascii", errors="replace")
    if not isinstance(value, str):
        raise PickleFormatError(f"{what} is a {type(value).__name__}, expected a string")
    return value


def _dtype(value) -> np.dtype:
    if not isinstance(value, _Dtype):
        raise PickleFormatError(f"an array's dtype is a {type(value).__name__}, not a plain numeric dtype")
    return value.dtype


def _make_dtype(args: tuple) -> _Dtype:
    # NumPy writes dtype(code, False, True); NumPy under Python 2 wrote the flags as 0 and 1.
    if len(args) != 3 or type(args[1]) not in (bool, int) or type(args[2]) not in (bool, int) or (args[1], args[2]) != (0, 1):
        raise PickleFormatError("numpy.dtype was called with arguments NumPy never writes")
    code = _text(args[0], "a dtype code")
    if code not in NUMERIC_CODES:
        raise PickleFormatError(f"dtype {code!r} is not a plain numeric type (object, structured and text types are refused)")
    return _Dtype(code, np.dtype(code))


def _set_dtype_state(holder: _Dtype, state) -> None:
    """BUILD on a dtype: only a byte order; no sub-array, field names, fields, sizes or flags."""
    if not isinstance(state, tuple) or len(state) not in (8, 9) or state[0] not in (3, 4):
        raise PickleFormatError("a dtype's state is not the one NumPy writes for a plain numeric type")
    endian = _text(state[1], "a dtype's byte order")
    if endian not in ("<", ">", "|", "=") or state[2:5] != (None, None, None) or state[5:8] != (-1, -1, 0) or state[8:] not in ((), (None,)):
        raise PickleFormatError(f"dtype {holder.code!r} carries fields, a sub-array, flags or sizes of its own; only plain numeric types are read")
    holder.dtype = np.dtype(holder.code).newbyteorder(endian) if endian in "<>" else np.dtype(holder.code)


def _array(raw, dtype: np.dtype, shape, fortran: bool) -> np.ndarray:
    """An array of ``shape`` over exactly ``prod(shape) * itemsize`` raw bytes, copied into its own memory."""
    if not isinstance(raw, (bytes, bytearray)):
        raise PickleFormatError(f"an array's data is a {type(raw).__name__}, not raw bytes")
    if (not isinstance(shape, tuple) or len(shape) > MAX_ARRAY_DIMENSIONS
            or not all(type(d) is int and d >= 0 for d in shape)):
        raise PickleFormatError(f"an array's shape must be up to {MAX_ARRAY_DIMENSIONS} non-negative integers")
    count = math.prod(shape)
    if count * dtype.itemsize != len(raw):
        raise PickleFormatError(
            f"an array of shape {shape} and dtype {dtype} needs {count * dtype.itemsize:,} bytes, "
            f"but its data has {len(raw):,}: the shape disagrees with the data"
        )
    order = "F" if fortran else "C"
    return np.array(np.frombuffer(raw, dtype=dtype, count=count).reshape(shape, order=order), order="C")


def _build_array(state) -> np.ndarray:
    if not isinstance(state, tuple) or len(state) != 5 or state[0] != 1:
        raise PickleFormatError("an array's state is not (1, shape, dtype, is_fortran, data)")
    _, shape, dtype, fortran, raw = state
    if type(fortran) is not bool:
        raise PickleFormatError("an array's is_fortran flag is not a bool")
    return _array(raw, _dtype(dtype), shape, fortran)


def _call(function, args):
    """REDUCE: the answer to one of the few calls a CIFAR-10 pickle makes."""
    if not isinstance(args, tuple):
        raise PickleFormatError("a call's arguments are not a tuple")
    if function is RECONSTRUCT:
        if len(args) != 3 or args[0] is not NDARRAY or args[1] != (0,):
            raise PickleFormatError(f"_reconstruct was asked for something other than an empty ndarray: {args[:2]!r}"[:300])
        return _PendingArray()
    if function is DTYPE:
        return _make_dtype(args)
    if function is SCALAR:
        if len(args) != 2 or not isinstance(args[1], bytes):
            raise PickleFormatError("a NumPy scalar is not (dtype, bytes)")
        dtype = _dtype(args[0])
        if len(args[1]) != dtype.itemsize:
            raise PickleFormatError(f"a NumPy scalar of dtype {dtype} has {len(args[1])} bytes")
        return np.frombuffer(args[1], dtype=dtype)[0].item()
    if function is FROMBUFFER:
        if len(args) != 4:
            raise PickleFormatError("_frombuffer was not called as (buffer, dtype, shape, order)")
        order = _text(args[3], "an array's order")
        if order not in ("C", "F"):
            raise PickleFormatError(f"an array's order is {order!r}")
        return _array(args[0], _dtype(args[1]), args[2], order == "F")
    if function is ENCODE:
        if len(args) != 2 or not isinstance(args[0], str) or args[1] not in ("latin1", "latin-1"):
            raise PickleFormatError("_codecs.encode was called with something other than (text, 'latin1')")
        try:
            return args[0].encode("latin1")
        except UnicodeEncodeError:
            raise PickleFormatError("_codecs.encode was given text that is not latin1") from None
    if function is BYTES:
        if args:
            raise PickleFormatError("bytes() was called with arguments; only the empty bytes object is built")
        return b""
    raise PickleFormatError(f"the file calls a {type(function).__name__}, which is not callable here")


def _shareable(value) -> bool:
    """What a memo reference may repeat: values that hold no other objects, or a flat tuple of them."""
    if isinstance(value, tuple):
        return all(_shareable(item) and not isinstance(item, tuple) for item in value)
    return value is None or isinstance(value, (bool, int, float, str, bytes, _Dtype, _Global))


class _Reader:
    def __init__(self, data: bytes):
        self.data = memoryview(data)
        self.position = 0

    def take(self, n: int) -> memoryview:
        end = self.position + n
        if n < 0 or end > len(self.data):
            raise PickleFormatError(f"the file ends inside an opcode's argument at byte {self.position:,}")
        chunk = self.data[self.position:end]
        self.position = end
        return chunk

    def unsigned(self, n: int) -> int:
        return int.from_bytes(self.take(n), "little")

    def line(self) -> str:
        end = bytes(self.data[self.position:self.position + 256]).find(b"\n")
        if end < 0:
            raise PickleFormatError("a GLOBAL opcode's name is not a short line")
        return self.take(end + 1)[:-1].tobytes().decode("ascii", errors="replace")


# Opcodes with a length-prefixed payload: (bytes of the length, what the payload becomes).
_SIZED = {
    b"U": (1, "bytes"), b"T": (4, "bytes"), b"C": (1, "bytes"), b"B": (4, "bytes"), b"\x8e": (8, "bytes"),
    b"\x96": (8, "bytearray"), b"\x8c": (1, "str"), b"X": (4, "str"), b"\x8d": (8, "str"),
}


def parse(data: bytes):
    """The object a CIFAR-10 pickle describes, built without running any code from it.

    Byte strings, whether Python 2 ``str`` or Python 3 ``bytes``, become bytes (what
    ``pickle.load(f, encoding="bytes")`` gives). Raises PickleFormatError.
    """
    reader = _Reader(data)
    stack: list = []
    marks: list[int] = []
    memo: dict[int, object] = {}
    built = 0
    materialized, budget = 0, BYTES_PER_FILE_BYTE * len(data) + SPARE_BYTES
    # The nesting of each container made, by id; holding the container keeps its id from being reused.
    depths: dict[int, tuple[object, int]] = {}

    def count(n: int = 1) -> None:
        """Every object, container slot, mark and memo entry counts against MAX_OBJECTS."""
        nonlocal built
        built += n
        if built > MAX_OBJECTS:
            raise PickleFormatError(f"the file builds more than {MAX_OBJECTS:,} objects, far more than a CIFAR-10 batch")

    def spend(size: int) -> None:
        """Every byte materialized counts against the budget, each time it is made."""
        nonlocal materialized
        materialized += size
        if materialized > budget:
            raise PickleFormatError(
                f"the file makes more than {budget:,} bytes of strings and arrays, {BYTES_PER_FILE_BYTE} times its "
                f"own size: it reuses its data far more than a CIFAR-10 batch"
            )

    def depth(value) -> int:
        return depths[id(value)][1] if id(value) in depths else 0

    def nest(container, items) -> None:
        """Record a container's depth from the items it (now also) holds; refuse one too deep."""
        level = max([depth(container) or 1, *(1 + depth(item) for item in items)])
        if level > MAX_DEPTH:
            raise PickleFormatError(f"containers nest more than {MAX_DEPTH} deep; a CIFAR-10 batch nests 3 deep")
        depths[id(container)] = (container, level)

    def push(value) -> None:
        count()
        if isinstance(value, (bytes, bytearray, str)):
            spend(len(value))
        elif isinstance(value, np.ndarray):
            spend(value.nbytes)
        elif isinstance(value, (list, dict, tuple)):
            nest(value, value.values() if isinstance(value, dict) else value)
        stack.append(value)

    def pop():
        if not stack or (marks and len(stack) == marks[-1]):
            raise PickleFormatError(f"an opcode at byte {reader.position:,} finds no value on the stack")
        return stack.pop()

    def pop_mark() -> list:
        if not marks:
            raise PickleFormatError(f"an opcode at byte {reader.position:,} closes a MARK that was never opened")
        start = marks.pop()
        items = stack[start:]
        del stack[start:]
        return items

    def top(kind: type):
        if not stack or (marks and len(stack) == marks[-1]) or not isinstance(stack[-1], kind):
            raise PickleFormatError(f"an opcode at byte {reader.position:,} expects a {kind.__name__} below it")
        return stack[-1]

    def set_items(target: dict, items: list) -> None:
        if len(items) % 2:
            raise PickleFormatError("a dict is given a key without a value")
        for key, value in zip(items[::2], items[1::2]):
            if not isinstance(key, (str, bytes)):
                raise PickleFormatError(f"a dict key is a {type(key).__name__}; a CIFAR-10 batch has only string keys")
            target[key] = value
        nest(target, items[1::2])
        count(len(items) // 2)

    def memoize(index: int) -> None:
        if not stack:
            raise PickleFormatError("the file memoizes an empty stack")
        count()
        memo[index] = stack[-1]

    def recall(index: int) -> None:
        if index not in memo:
            raise PickleFormatError(f"the file refers to memo entry {index}, which it never stored")
        value = memo[index]
        if not _shareable(value):
            raise PickleFormatError(
                f"the file refers a second time to a {type(value).__name__} (memo entry {index}): shared or nested "
                "references let a small file describe an unbounded structure, and a CIFAR-10 batch has none"
            )
        push(value)

    while True:
        opcode = bytes(reader.take(1))
        if opcode == b".":
            break
        if opcode in _SIZED:
            width, kind = _SIZED[opcode]
            size = reader.unsigned(width)
            if opcode == b"T" and size >= 1 << 31:
                raise PickleFormatError("a BINSTRING has a negative length")
            payload = reader.take(size)
            if kind == "str":
                try:
                    push(str(payload, "utf-8", "surrogatepass"))
                except UnicodeDecodeError:
                    raise PickleFormatError(f"a string at byte {reader.position:,} is not UTF-8") from None
            else:
                push(bytes(payload) if kind == "bytes" else bytearray(payload))
        elif opcode == b"\x80":
            if reader.unsigned(1) not in (2, 3, 4, 5):
                raise PickleFormatError("the pickle protocol is not 2 to 5, which CIFAR-10 files use")
        elif opcode == b"\x95":
            reader.take(8)  # FRAME: its contents are read as they come
        elif opcode == b"(":
            count()
            marks.append(len(stack))
        elif opcode == b"}":
            push({})
        elif opcode == b"]":
            push([])
        elif opcode == b")":
            push(())
        elif opcode == b"d":
            value: dict = {}
            set_items(value, pop_mark())
            push(value)
        elif opcode == b"l":
            push(pop_mark())
        elif opcode == b"t":
            push(tuple(pop_mark()))
        elif opcode in (b"\x85", b"\x86", b"\x87"):
            items = [pop() for _ in range(opcode[0] - 0x84)][::-1]
            push(tuple(items))
        elif opcode == b"a":
            value = pop()
            nest(top(list), [value])
            top(list).append(value)
            count()
        elif opcode == b"e":
            items = pop_mark()
            nest(top(list), items)
            top(list).extend(items)
            count(len(items))
        elif opcode == b"s":
            value, key = pop(), pop()
            set_items(top(dict), [key, value])
        elif opcode == b"u":
            items = pop_mark()
            set_items(top(dict), items)
        elif opcode == b"N":
            push(None)
        elif opcode == b"\x88":
            push(True)
        elif opcode == b"\x89":
            push(False)
        elif opcode == b"J":
            push(int.from_bytes(reader.take(4), "little", signed=True))
        elif opcode == b"K":
            push(reader.unsigned(1))
        elif opcode == b"M":
            push(reader.unsigned(2))
        elif opcode == b"\x8a":
            push(int.from_bytes(reader.take(reader.unsigned(1)), "little", signed=True))
        elif opcode == b"G":
            push(struct.unpack(">d", reader.take(8))[0])
        elif opcode == b"q":
            memoize(reader.unsigned(1))
        elif opcode == b"r":
            memoize(reader.unsigned(4))
        elif opcode == b"\x94":
            memoize(len(memo))
        elif opcode == b"h":
            recall(reader.unsigned(1))
        elif opcode == b"j":
            recall(reader.unsigned(4))
        elif opcode in (b"c", b"\x93"):
            if opcode == b"c":
                module, name = reader.line(), reader.line()
            else:
                name, module = pop(), pop()
                if not isinstance(module, str) or not isinstance(name, str):
                    raise PickleFormatError("STACK_GLOBAL names its callable with something other than strings")
            if (module, name) not in GLOBALS:
                raise PickleFormatError(f"it asks to build {module}.{name}"[:200] + ", which a CIFAR-10 batch never contains")
            push(GLOBALS[(module, name)])
        elif opcode == b"R":
            args = pop()
            function = pop()
            push(_call(function, args))
        elif opcode == b"b":
            state = pop()
            target = pop()
            if isinstance(target, _PendingArray):
                push(_build_array(state))
            elif isinstance(target, _Dtype):
                _set_dtype_state(target, state)
                push(target)
            else:
                raise PickleFormatError(f"the file sets the state of a {type(target).__name__}, which only arrays and dtypes have here")
        else:
            raise PickleFormatError(f"opcode {opcode!r} at byte {reader.position - 1:,} is not one a CIFAR-10 pickle uses")
    if len(stack) != 1 or marks:
        raise PickleFormatError("the pickle does not end with exactly one object")
    result = stack[0]
    values = result.values() if isinstance(result, dict) else ()
    if any(isinstance(value, (_PendingArray, _Global)) for value in (result, *values)):
        raise PickleFormatError("the pickle leaves an array without its data or a callable uncalled")
    return result
