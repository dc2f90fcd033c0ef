"""Splitters: one class per protocol, each with explicit column names."""

from audiorec.splits.base import Split, collapse_pairs, split_stats
from audiorec.splits.global_time import GlobalTimeSplitter
from audiorec.splits.leave_last_out import LeaveLastOutSplitter

__all__ = ["GlobalTimeSplitter", "LeaveLastOutSplitter", "Split", "collapse_pairs", "split_stats"]


def from_config(spec: dict):
    """The splitter a config's `split` section describes."""
    if spec["method"] == "global_time":
        return GlobalTimeSplitter(
            start_date=spec["start_date"],
            test_date=spec["test_date"],
            end_date=spec["end_date"],
            val_fraction=spec["val_fraction"],
            seed=spec["seed"],
            ties=spec["ties"],
        )
    return LeaveLastOutSplitter(min_user_items=spec["min_user_items"], ties=spec["ties"])
