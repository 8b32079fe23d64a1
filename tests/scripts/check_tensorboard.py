"""Reads a directory of TensorBoard event files with TensorBoard's own loader and prints
{tag: number of scalar events} as JSON (tests/tensorboard_test.cc)."""
import json
import sys

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

acc = EventAccumulator(sys.argv[1], size_guidance={"scalars": 0})
acc.Reload()
print(json.dumps({tag: len(acc.Scalars(tag)) for tag in acc.Tags()["scalars"]}))
