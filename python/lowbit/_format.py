"""lowbit.Format: a scaled-format descriptor, its constructors and its names.

Name grammar (case-insensitive; Format.parse and every `fmt` argument):

    name   := mx | nv | scaled | plain
    mx     := ("mx_" ELEM | "mxfp8_e4m3" | "mxfp8_e5m2" | "mxfp6_e3m2"
               | "mxfp6_e2m3" | "mxfp4" | "mxint8") ["_" BLOCK] ["/" RULE]
    nv     := ("nv_" ELEM | "nvfp4") ["_" BLOCK] ["_given"]
    scaled := ["fp8_"] ELEM "_" BLOCK ["_" SCALE] ["_zp"]
    plain  := ELEM ["_raw"]
    BLOCK  := "tensor" | "row" | "g" N | ["b"] R "x" C   (g N = 1 x N)
    SCALE  := "f32" | "f16" | "bf16"                     (default f32)
    RULE   := "floor" | "rceil" | "ceil" | "even"        (default floor)
    ELEM   := a lowbit dtype name: e4m3, e5m2, e4m3fnuz, e5m2fnuz, e3m2,
              e2m3, e2m1, int8, int4, uint4 (f32 / f16 / bf16 for plain)

"_given" marks a tensor scale the caller gives (quantize's tensor_scale=)
instead of one derived from the data.
MX blocks default to g32, NVFP4-style blocks to g16; uint4 groups always
carry a zero point, so "_zp" may be left out there.  These are also the
spellings lowbit-sweep's --formats takes for single formats ("mxfp4",
"fp8_e4m3_1x128", "e5m2_raw", "int4_g128_f16_zp").  Format.name gives the
canonical spelling, which is what the C library's lowbit_format_name prints
("mx_e2m1_g32/floor", "nv_e2m1_g16", "e4m3_row_f32", "int4_g128_f16_zp");
the plain formats, which lowbit_format_name calls "invalid", are named by
their element ("bf16").
"""

import ctypes
import dataclasses
import re

from ._dtypes import ENUM, NAMES, WIDE, canonical
from ._lib import DTYPE_COUNT, FMT_GIVEN_TENSOR_SCALE, FMT_TENSOR_SCALE, FMT_ZERO_POINT, LIB, CFormat, check, fail

RULES = ("floor", "rceil", "ceil", "even")
_MX_ALIASES = {"mxfp8_e4m3": "e4m3", "mxfp8_e5m2": "e5m2", "mxfp6_e3m2": "e3m2", "mxfp6_e2m3": "e2m3",
               "mxfp4": "e2m1", "mxint8": "int8"}
_FP8 = ("e4m3", "e5m2", "e4m3fnuz", "e5m2fnuz")
_DTYPE_BY_ENUM = {v: k for k, v in ENUM.items()}


def _rule_value(rule, call):
    if isinstance(rule, int) and 0 <= rule < len(RULES):
        return rule
    key = str(rule).lower()
    if key not in RULES:
        fail("LOWBIT_ERR_INVALID_ENUM", "unknown scale rule %r (use %s)" % (rule, ", ".join(RULES)), call)
    return RULES.index(key)


@dataclasses.dataclass(frozen=True)
class Format:
    """The fields of lowbit_format, by name.

    elem          element type name ("e2m1", "int4", ...)
    scale         scale type name ("e8m0", "e4m3", "f32", "f16", "bf16"),
                  None for a plain (unscaled) operand
    block_rows    block height, 0 = all rows
    block_cols    block width along a row (K), 0 = the whole row
    rule          MX scale rule ("floor", "rceil", "ceil", "even")
    zero_point    integer groups carry a zero point
    tensor_scale  an f32 per-tensor scale above the block scales (NVFP4)
    given_tensor_scale
                  with tensor_scale: quantize takes that scale from the caller
                  (a calibrated one) instead of the data's amax
    """
    elem: str
    scale: object = None
    block_rows: int = 0
    block_cols: int = 0
    rule: str = "floor"
    zero_point: bool = False
    tensor_scale: bool = False
    given_tensor_scale: bool = False

    # ---- constructors mirroring the C ones -------------------------------

    @classmethod
    def mx(cls, elem, rule="floor"):
        """OCP MX: 1 x 32 blocks, E8M0 scales (lowbit_format_mx)."""
        call = "Format.mx"
        return cls._from_c(LIB.lowbit_format_mx(ENUM[canonical(elem, call)], _rule_value(rule, call)))

    @classmethod
    def nvfp4(cls, given_tensor_scale=False):
        """E2M1 in 1 x 16 blocks, E4M3 scales, f32 tensor scale (lowbit_format_nvfp4);
        given_tensor_scale: quantize takes the tensor scale from the caller."""
        f = cls._from_c(LIB.lowbit_format_nvfp4())
        return dataclasses.replace(f, given_tensor_scale=True) if given_tensor_scale else f

    @classmethod
    def fp8_tensor(cls, elem="e4m3"):
        return cls._from_c(LIB.lowbit_format_fp8_tensor(ENUM[canonical(elem, "Format.fp8_tensor")]))

    @classmethod
    def fp8_row(cls, elem="e4m3"):
        return cls._from_c(LIB.lowbit_format_fp8_row(ENUM[canonical(elem, "Format.fp8_row")]))

    @classmethod
    def fp8_block(cls, elem="e4m3", block_rows=128, block_cols=128):
        return cls._from_c(LIB.lowbit_format_fp8_block(ENUM[canonical(elem, "Format.fp8_block")],
                                                       int(block_rows), int(block_cols)))

    @classmethod
    def int_group(cls, elem, group, scale="f32", zero_point=False):
        """Integer groups of `group` along a row (0: one per row)."""
        call = "Format.int_group"
        return cls._from_c(LIB.lowbit_format_int_group(ENUM[canonical(elem, call)], int(group),
                                                       ENUM[canonical(scale, call)], 1 if zero_point else 0))

    @classmethod
    def plain(cls, elem):
        """An unscaled operand (f32 / f16 / bf16 activations for W4A16 GEMM)."""
        return cls._from_c(LIB.lowbit_format_plain(ENUM[canonical(elem, "Format.plain")]))

    @classmethod
    def parse(cls, name):
        """A Format from its name; see the module docstring for the grammar."""
        return _parse(name)

    # ---- C struct ----------------------------------------------------------

    @classmethod
    def _from_c(cls, c):
        return cls(elem=_DTYPE_BY_ENUM[c.elem],
                   scale=None if c.scale_type == DTYPE_COUNT else _DTYPE_BY_ENUM[c.scale_type],
                   block_rows=int(c.block_rows), block_cols=int(c.block_cols), rule=RULES[c.rule],
                   zero_point=bool(c.flags & FMT_ZERO_POINT), tensor_scale=bool(c.flags & FMT_TENSOR_SCALE),
                   given_tensor_scale=bool(c.flags & FMT_GIVEN_TENSOR_SCALE))

    def to_c(self):
        call = "Format"
        return CFormat(ENUM[canonical(self.elem, call)],
                       DTYPE_COUNT if self.scale is None else ENUM[canonical(self.scale, call)],
                       int(self.block_rows), int(self.block_cols), _rule_value(self.rule, call),
                       (FMT_ZERO_POINT if self.zero_point else 0) | (FMT_TENSOR_SCALE if self.tensor_scale else 0)
                       | (FMT_GIVEN_TENSOR_SCALE if self.given_tensor_scale else 0))

    # ---- queries -------------------------------------------------------------

    @property
    def is_plain(self):
        return self.scale is None

    def check(self):
        """Raise LowbitError unless the library implements this format."""
        if self.is_plain and self.elem in WIDE and not (self.zero_point or self.tensor_scale):
            return self  # only GEMM takes these; lowbit_format_check refuses wide elements
        c = self.to_c()
        check(LIB.lowbit_format_check(ctypes.byref(c)), "Format(%s)" % self.name)
        return self

    @property
    def name(self):
        """Canonical name, as lowbit_format_name prints it."""
        if self.is_plain:
            return self.elem
        if self.block_rows == 0 and self.block_cols == 0:
            block = "tensor"
        elif self.block_rows == 1 and self.block_cols == 0:
            block = "row"
        elif self.block_rows == 1:
            block = "g%d" % self.block_cols
        else:
            block = "b%dx%d" % (self.block_rows, self.block_cols)
        if self.scale == "e8m0":
            return "mx_%s_%s/%s" % (self.elem, block, self.rule)
        if self.scale == "e4m3" and self.tensor_scale:
            return "nv_%s_%s%s" % (self.elem, block, "_given" if self.given_tensor_scale else "")
        return "%s_%s_%s%s" % (self.elem, block, self.scale, "_zp" if self.zero_point else "")

    def __str__(self):
        return self.name


_BLOCK_RE = re.compile(r"^(?:(tensor)|(row)|g(\d+)|b?(\d+)x(\d+))$")


def _block(tok):
    m = _BLOCK_RE.match(tok)
    if not m:
        return None
    if m.group(1):
        return 0, 0
    if m.group(2):
        return 1, 0
    if m.group(3):
        return 1, int(m.group(3))
    return int(m.group(4)), int(m.group(5))


def _parse(name):
    call = "Format.parse"
    if not isinstance(name, str):
        fail("LOWBIT_ERR_INVALID_ENUM", "a format name is a string, not %r" % (name,), call)
    text = name.strip().lower()

    def bad(why):
        fail("LOWBIT_ERR_INVALID_ENUM", "cannot parse format %r: %s (see help(lowbit.Format.parse))"
             % (name, why), call)

    body, _, rule = text.partition("/")
    toks = body.split("_")
    fmt = None
    if body.endswith("_raw") and body[:-4] in NAMES:
        body = body[:-4]
    if body in NAMES:
        if rule:
            bad("a plain element takes no scale rule")
        return Format.plain(body)

    # MX and NVFP4-style: a head naming the element, then an optional block
    head_mx = None
    for alias, elem in _MX_ALIASES.items():
        if body == alias or body.startswith(alias + "_"):
            head_mx, rest = elem, body[len(alias) + 1:]
    if head_mx is None and toks[0] == "mx" and len(toks) >= 2:
        head_mx, rest = toks[1], "_".join(toks[2:])
    if head_mx is not None:
        if head_mx not in NAMES:
            bad("unknown element %r" % head_mx)
        br, bc = (1, 32) if not rest else (_block(rest) or bad("unknown block %r" % rest))
        fmt = Format(head_mx, "e8m0", br, bc, rule or "floor")
    elif body == "nvfp4" or body.startswith("nvfp4_") or toks[0] == "nv":
        if rule:
            bad("scale rules apply to MX (E8M0) formats only")
        if toks[0] == "nv":
            if len(toks) < 2 or toks[1] not in NAMES:
                bad("nv_ needs an element, e.g. nv_e2m1_g16")
            elem, rest = toks[1], "_".join(toks[2:])
        else:
            elem, rest = "e2m1", body[len("nvfp4") + 1:]
        given = rest == "given" or rest.endswith("_given")
        if given:
            rest = rest[:-len("given")].rstrip("_")
        br, bc = (1, 16) if not rest else (_block(rest) or bad("unknown block %r" % rest))
        fmt = Format(elem, "e4m3", br, bc, tensor_scale=True, given_tensor_scale=given)
    else:
        if rule:
            bad("scale rules apply to MX (E8M0) formats only")
        if toks[0] == "fp8":
            toks = toks[1:]
            if not toks or toks[0] not in _FP8:
                bad("fp8_ must be followed by an FP8 element (%s)" % ", ".join(_FP8))
        if len(toks) < 2:
            bad("expected ELEM_BLOCK[_SCALE][_zp]")
        elem = toks[0]
        if elem not in NAMES:
            bad("unknown element %r" % elem)
        blk = _block(toks[1])
        if blk is None:
            bad("unknown block %r (tensor, row, gN or bRxC)" % toks[1])
        rest = toks[2:]
        zp = bool(rest) and rest[-1] == "zp"
        if zp:
            rest = rest[:-1]
        scale = "f32"
        if rest:
            if len(rest) > 1 or rest[0] not in WIDE:
                bad("unknown scale %r (f32, f16 or bf16)" % "_".join(rest))
            scale = rest[0]
        fmt = Format(elem, scale, blk[0], blk[1], zero_point=zp or elem == "uint4")
    return fmt.check()


def as_format(fmt, call="lowbit"):
    """A Format from a Format or a name."""
    if isinstance(fmt, Format):
        return fmt
    if isinstance(fmt, str):
        return _parse(fmt)
    fail("LOWBIT_ERR_INVALID_ENUM", "expected a lowbit.Format or a format name, not %r" % (fmt,), call)
