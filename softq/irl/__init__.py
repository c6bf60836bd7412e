"""Maximum-entropy inverse RL on graphs / road networks (Ziebart et al. 2008; §5)."""

from softq.irl.inference import expected_counts
from softq.irl.inference import expected_visits
from softq.irl.inference import local_policy
from softq.irl.inference import log_partition
from softq.irl.inference import path_log_prob
