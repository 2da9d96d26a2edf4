// Joins of two changing inputs in a materialized view: a symmetric hash join. Either side may be
// a stream, a table with a primary key or another materialized view (whose changes retract and
// insert rows); the state holds both sides' rows by join key, so a change on one side joins the
// other side's rows as they are now, and a retraction takes back the rows it joined. INNER,
// LEFT, RIGHT and FULL, with equality keys and any further ON condition. The state is shared by
// the pipelines of all source partitions, in key shards with a lock each: a change and the
// state it is joined with are one step under the shard's lock, so two partitions (or the two
// sides) changing the same key at once see each other's rows exactly once.
//
// A stream joined with a table by the table's whole primary key keeps the lookup join of
// operators.cc instead (processing time: later table changes never revisit output).
#pragma once

#include <memory>

#include "stream/operators.h"

namespace eddy::stream {

// Whether join `index` of `arm` is a lookup of a table's latest row by its primary key: the
// inputs before it are an append-only stream joined only by lookups, the joined relation is a
// table with a primary key that the ON equalities cover, and it is INNER or LEFT.
bool is_lookup_join(const sql::Plan& arm, size_t index);

// Whether the rows a hash join emits can be retracted later: its inputs change (a table with
// a primary key, a view, an earlier join that retracts) or it pads unmatched rows with NULLs
// (an outer join takes the padded row back when a match arrives).
bool join_retracts(const sql::Plan& arm, size_t index);

// The hash join `index` of `arm` (UNION ALL arm `arm_index`): push() takes the changes of the
// inputs before it (the stream, joined with the joins before this one); `*right_input` is set to
// the operator that takes the changes of the joined relation. Both pass joined rows (the whole
// combined row so far) to the next operator.
std::unique_ptr<Operator> make_hash_join(const sql::Plan& arm, size_t index, uint32_t arm_index,
                                         OperatorContext& context, Operator** right_input);

}  // namespace eddy::stream
