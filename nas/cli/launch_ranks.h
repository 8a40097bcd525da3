// `tinynas train --nproc N`: runs this command as N data-parallel ranks on this machine. Each is
// this program again, with the same arguments, told its rank through the environment
// (supernet/distributed_config.h: TINYNAS_RANK, TINYNAS_WORLD_SIZE, TINYNAS_STORE, a c10d
// FileStore in a fresh temporary directory). If a rank dies (a crash, a SIGKILL, an error) the
// others are stopped (SIGTERM, then SIGKILL after a grace period), so a job never hangs on a
// collective waiting for a dead peer; the checkpoint the lead rank last wrote is where --resume
// goes on.
#pragma once

namespace tinynas {

// Returns the job's exit code: 0 when every rank finished; otherwise the first failing rank's
// (1 for a rank killed by a signal).
int launch_ranks(int nproc);

}  // namespace tinynas
