/* layout — C struct definitions read from YAML, laid out the way gcc lays
 * them out on x86_64, i386 and aarch64, with pahole's hole accounting and
 * the smallest size any field order reaches.
 *
 * Purpose: memsize's struct model. A YAML file (schema in memkit-formats(5)
 * and memsize(1)) declares structs — fields with C scalar types, pointers,
 * nested structs, arrays (count) and bitfields (bits) — and Python classes
 * (name, count, attrs). ml_load() reads it into an ml_doc, ml_resolve() binds
 * struct references and checks what needs the whole file (unknown structs,
 * structs containing themselves by value, sizes that overflow), and then
 * ml_lay_out() places any array of fields exactly as gcc 12 does for struct
 * members (SysV x86_64, SysV i386 as `gcc -m32`, AAPCS64 / LP64), including
 * gcc's bitfield rules: a bitfield may not span more alignment units of its
 * declared type than the type itself has; a zero-width field rounds up to
 * its type's alignment; a named bitfield's declared type raises the struct's
 * alignment on every ABI, an unnamed zero-width one only on aarch64.
 * ml_best_order() finds the truly minimal size over all field orders. The
 * figures are checked against gcc and pahole 1.24 by
 * tests/memsize/pahole-truth.sh.
 *
 * Errors: functions that fail return -1 (or NULL) with a message in mk_err
 * (err.h). Input problems are located as "FILE:LINE:COL: message" (1-based,
 * from libyaml's marks); a field the caller made up (line 0) is named
 * instead ("field 'x': ...").
 *
 * Ownership: everything reachable from an ml_doc — structs, fields, names,
 * type spellings, classes, attrs — is owned by the doc (one arena) and lives
 * until ml_free(). An ml_layout's placed array is owned by the layout and
 * released by ml_layout_free(). Field arrays passed in are only read.
 *
 * Thread-safety: ml_load*, ml_resolve and ml_free change the doc and need
 * exclusive use. Once resolved, a doc is read-only to every other function,
 * so any number of threads may call ml_lay_out, ml_best_order,
 * ml_field_scalar and ml_field_set_type (on their own ml_field) at once;
 * error messages are thread-local.
 *
 * Cost: loading is linear in the file; resolving is linear in fields plus
 * struct references. ml_lay_out is O(n). ml_best_order is O(n) without
 * bitfields (one pass per distinct alignment); with bitfields it runs an
 * exact dynamic programme over groups of interchangeable fields while that
 * has at most 2^20 states (at most 9 MB, well under a second), and beyond a
 * beam search bounded to about 5e6 steps (about a second, at most 32 MB). */
#ifndef MS_LAYOUT_H
#define MS_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

typedef enum { ML_ABI_X86_64, ML_ABI_I386, ML_ABI_AARCH64 } ml_abi;
enum { ML_NABI = 3 };

/* "x86_64" (also "amd64", "x86-64"), "i386" (also "i686", "x86"),
 * "aarch64" (also "arm64"): 0 and *abi set; -1 with a message listing the
 * names otherwise. */
int ml_abi_parse(const char *s, ml_abi *abi);
/* The canonical name: "x86_64", "i386" or "aarch64". */
const char *ml_abi_name(ml_abi abi);

/* What a field holds, once its type is parsed. */
typedef enum {
    ML_KIND_NONE,       /* not parsed or not resolved */
    ML_KIND_SIGNED,     /* signed integers: int, long, int32_t, ssize_t, signed char ... */
    ML_KIND_UNSIGNED,   /* unsigned integers: unsigned, size_t, uint8_t ... */
    ML_KIND_CHAR,       /* plain char: signed on x86_64 and i386, unsigned on aarch64 */
    ML_KIND_BOOL,       /* bool, _Bool */
    ML_KIND_FLOAT,      /* float, double, long double */
    ML_KIND_POINTER,    /* any T *, whether T is known or not */
    ML_KIND_STRUCT      /* struct NAME defined in the file, by value */
} ml_kind;

/* The storage class of a non-struct type; its size and alignment depend on
 * the ABI (ml_field_scalar). Typedefs map to what they are on the ABIs:
 * int8_t/uint8_t CHAR, int16_t SHORT, int32_t INT, int64_t/intmax_t LLONG
 * (long on LP64, same size and alignment), size_t/ssize_t/ptrdiff_t/
 * intptr_t/uintptr_t LONG. */
typedef enum {
    ML_T_NONE, ML_T_CHAR, ML_T_SHORT, ML_T_INT, ML_T_LONG, ML_T_LLONG, ML_T_BOOL,
    ML_T_FLOAT, ML_T_DOUBLE, ML_T_LDOUBLE, ML_T_PTR, ML_T_COUNT
} ml_scalar;

typedef struct ml_field {
    const char *name;           /* "" for an unnamed zero-width bitfield; bits: 0
                                   is always laid out as unnamed, as C requires */
    const char *type;           /* as written, blanks normalised: "unsigned int",
                                   "struct packet *", "char **" */
    uint64_t count;             /* array length; 0 = not an array */
    unsigned bits;              /* bitfield width (valid when is_bitfield) */
    int is_bitfield;            /* bits: 0 is allowed only as a bitfield */
    int has_range;              /* range: [lo, hi], lo <= hi, stored for the caller */
    __int128 lo, hi;
    int has_distinct;           /* distinct: N, stored for the caller */
    uint64_t distinct;
    size_t line, col;           /* the field's mapping; 0 for made-up fields */
    size_t type_line, type_col; /* its type value, bits value (0 when absent) */
    size_t bits_line, bits_col;
    /* Set by ml_load (ML_KIND_STRUCT with struct_index -1 until ml_resolve): */
    ml_kind kind;
    ml_scalar scalar;           /* ML_T_NONE for structs */
    int struct_index;           /* index into ml_doc.structs for ML_KIND_STRUCT, else -1 */
} ml_field;

typedef struct ml_struct {
    const char *name;
    uint64_t count;             /* instances (the YAML count), when has_count */
    int has_count;
    size_t line, col;
    ml_field *fields;
    size_t nfields;
} ml_struct;

typedef struct ml_class {
    const char *name;
    uint64_t count;             /* instances; 1 when not given */
    char **attrs;
    size_t nattrs;
    int has_list_len;           /* list_len: N, each instance holds a list of N floats */
    uint64_t list_len;
    /* distinct: {ATTR: N} and str_len: {ATTR: L}: the attribute holds one of
     * N distinct strings of L ASCII characters (both keys name the same
     * attrs, each one of the class's attrs) */
    struct ml_strattr *strs;
    size_t nstrs;
    size_t line, col;
} ml_class;

typedef struct ml_strattr {
    const char *attr;
    uint64_t distinct, len;
} ml_strattr;

struct ml_priv;

typedef struct ml_doc {
    const char *file;           /* name used in messages ("<stdin>" for "-") */
    ml_struct *structs;
    size_t nstructs;
    ml_class *classes;
    size_t nclasses;
    struct ml_priv *priv;       /* arena, name index, per-ABI struct sizes */
} ml_doc;

/* Reads and checks one YAML document: the schema's keys, values and their
 * types (unknown keys are errors naming the key and the valid ones),
 * duplicate struct, field, class and attr names, C identifiers, scalar and
 * pointer types, bitfield widths against 64-bit sizes (ABI-specific widths,
 * e.g. long on i386, are checked when laying out). Struct references are
 * left for ml_resolve. An empty file or document has no structs or classes.
 * path "-" reads stdin. NULL with a located mk_err on any problem. */
ml_doc *ml_load(const char *path);
/* The same on a buffer; name is used in messages and copied. */
ml_doc *ml_load_mem(const char *name, const char *data, size_t len);

/* Binds every "struct NAME" field to its struct (defined anywhere in the
 * file), rejects structs that contain themselves by value (the message shows
 * the chain, e.g. "a.b -> b.back -> a"), and lays out every struct in its
 * declared order on each ABI, failing on sizes (or count x size) that
 * overflow 64 bits on x86_64. A struct valid on x86_64 but not on another
 * ABI (bits: 40 on a long, on i386) makes only layouts on that ABI fail.
 * Idempotent. 0, or -1 with a located mk_err. */
int ml_resolve(ml_doc *d);

/* One field as placed. offset is the byte holding the field's first bit,
 * bit_offset that bit's index in the byte (0 for all but bitfields), so the
 * field starts at bit offset * 8 + bit_offset of the struct. size is the
 * field's storage: sizeof the type times count; for a bitfield sizeof its
 * declared type (its width is the ml_field's bits); 0 for bits: 0. */
typedef struct ml_placed {
    size_t field;               /* index into the array given to ml_lay_out */
    uint64_t offset;
    unsigned bit_offset;
    uint64_t size;
} ml_placed;

/* A struct laid out, with pahole 1.24's accounting (class__find_holes): a
 * byte hole is a gap of whole bytes before a member, a bit hole the bits a
 * bitfield run leaves unused before the next member (or the next unit), so a
 * gap after a bitfield may show as a bit hole rather than a byte hole
 * exactly as pahole prints it. padding is the trailing bytes after the last
 * member's storage unit, bit_padding the unused bits of a trailing bitfield
 * unit. Unnamed zero-width bitfields are not members (gcc emits no DWARF for
 * them). pahole's own consistency check, size * 8 == sum_members * 8 +
 * sum_bits + hole_bytes * 8 + bit_hole_bits + padding * 8 + bit_padding,
 * held for every layout tested (6,000 random structs on the three ABIs,
 * every figure equal to pahole's). */
typedef struct ml_layout {
    uint64_t size, align;            /* sizeof and _Alignof of the struct */
    uint64_t holes, hole_bytes;      /* pahole "holes", "sum holes" */
    uint64_t bit_holes, bit_hole_bits; /* pahole "bit holes", "sum bit holes" */
    uint64_t padding, bit_padding;   /* pahole "padding", "bit_padding" */
    uint64_t sum_members;            /* pahole "sum members": bytes of non-bitfields */
    uint64_t sum_bits;               /* pahole "sum bitfield members" */
    ml_placed *placed;               /* nplaced == n, in the given order */
    size_t nplaced;
} ml_layout;

/* Lays out fields[0..n) in that order on abi, as gcc does. The fields may be
 * any resolved fields: a struct's own, a subset, a permutation, or rewritten
 * copies (narrowed types through ml_field_set_type, bools turned into 1-bit
 * fields by setting is_bitfield = 1, bits = 1). n == 0 gives the empty
 * struct of GNU C (size 0, align 1). *out is overwritten (the previous
 * placed array is not freed). -1 with mk_err when a field is not resolved,
 * is too wide a bitfield on this ABI, or the size overflows 64 bits. */
int ml_lay_out(const ml_doc *d, ml_abi abi, const ml_field *fields, size_t n, ml_layout *out);
void ml_layout_free(ml_layout *l);

/* The smallest sizeof any order of fields[0..n) reaches on abi, and one
 * order that reaches it: order[i] is an index into fields, each index once
 * (order has room for n). Among orders of equal size it prefers larger
 * alignments first and keeps the given order of interchangeable fields;
 * zero-width bitfields come first, where they change nothing.
 *
 * *proven is 1 when the size is known to be minimal: always without
 * bitfields (sorting by alignment is optimal, see layout.c), always when the
 * exact search ran (a dynamic programme over groups of interchangeable
 * fields, up to 2^20 states after the reductions described in layout.c: any
 * number of members aligned more than every bitfield, plus about 20
 * bitfields of distinct types and widths, fewer beside many kinds of small
 * members), and when a heuristic result meets the lower bound
 * round_up(bytes of all storage, alignment). Otherwise 0: a beam search's
 * best, never worse than sorting by alignment.
 * Unlike pahole --reorganize, the size is what gcc makes of the order.
 * -1 with mk_err as for ml_lay_out. */
int ml_best_order(const ml_doc *d, ml_abi abi, const ml_field *fields, size_t n,
                  size_t *order, uint64_t *best_size, int *proven);

/* Facts about a field's type on abi, for the element when it is an array:
 * sizeof, alignment as a struct member (gcc -m32 aligns long long and
 * double to 4 in structs), whether it is an integer (bool counts, with
 * is_signed 0) and whether signed (plain char depends on the ABI). Struct
 * fields give the struct's size and alignment. Any out pointer may be NULL.
 * -1 when the field is not resolved or the struct is invalid on abi. */
int ml_field_scalar(const ml_doc *d, ml_abi abi, const ml_field *f, uint64_t *size,
                    uint64_t *align, int *is_integer, int *is_signed);

/* Gives a field (typically a caller's copy) another type, parsed and
 * resolved against d like a type in the file: sets f->type to `type`
 * (which must outlive the field), kind, scalar and struct_index; bits are
 * left alone (ml_lay_out checks them). 0, or -1 with mk_err (the field is
 * then unchanged). */
int ml_field_set_type(const ml_doc *d, ml_field *f, const char *type);

/* Releases the doc and everything it owns; NULL is fine. */
void ml_free(ml_doc *d);

#endif
