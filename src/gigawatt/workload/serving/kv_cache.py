"""A paged KV cache with three tiers: HBM blocks, host DRAM blocks, NVMe SSD blocks (DESIGN §4.4).

Blocks are counted per request (arrays indexed by request id), so allocation, release and the
invariants are vectorised. A block's bytes are per GPU: every GPU of the replica holds its shard of
each block and moves it over its own PCIe link and NVMe drive in parallel, so transfer time is
per-GPU bytes / link bandwidth while the bytes reported are the replica's total.

Offload goes HBM → DRAM over PCIe; what DRAM cannot hold goes on through DRAM to the SSD, paying
PCIe and then the NVMe bandwidth (the two hops are not overlapped: assumption). Restore is the reverse.
"""

from __future__ import annotations

import numpy as np

from gigawatt.workload.serving import paged


class PagedKvCache:
    def __init__(
        self,
        hbm_blocks: int,
        dram_blocks: int,
        ssd_blocks: int,
        block_tokens: int,
        block_bytes_per_gpu: float,
        gpus: int,
        pcie_bandwidth: float,
        ssd_bandwidth: float,
    ) -> None:
        self.capacity = {"hbm": hbm_blocks, "dram": dram_blocks, "ssd": ssd_blocks}
        self.block_tokens = block_tokens
        self.block_bytes_per_gpu = block_bytes_per_gpu
        self.gpus = gpus
        self.pcie_bandwidth = pcie_bandwidth
        self.ssd_bandwidth = ssd_bandwidth
        self.used = dict.fromkeys(self.capacity, 0)
        self.held = {tier: np.zeros(0, dtype=np.int64) for tier in self.capacity}  # blocks per request
        self.peak_hbm_used = 0
        # Replica-wide bytes moved, by direction.
        self.bytes_moved = {"hbm_to_dram": 0.0, "dram_to_ssd": 0.0, "ssd_to_dram": 0.0, "dram_to_hbm": 0.0}

    @property
    def free_hbm(self) -> int:
        return self.capacity["hbm"] - self.used["hbm"]

    @property
    def hbm_utilisation(self) -> float:
        return self.used["hbm"] / self.capacity["hbm"] if self.capacity["hbm"] else 0.0

    def blocks_for(self, tokens: np.ndarray | int) -> np.ndarray | int:
        return paged.blocks_for(tokens, self.block_tokens)

    def track(self, requests: int) -> None:
        """Make room in the per-request arrays for request ids below `requests`."""
        size = len(self.held["hbm"])
        if requests > size:
            grown = max(requests, 2 * size)
            for tier, held in self.held.items():
                self.held[tier] = np.concatenate([held, np.zeros(grown - size, dtype=np.int64)])

    def allocate(self, ids: np.ndarray, blocks: np.ndarray, total: int | None = None) -> None:
        """Give each of the distinct requests `ids` `blocks` more HBM blocks (`total` of them, if the caller
        has summed them); the caller checked they fit."""
        if total is None:
            total = int(np.add.reduce(blocks))
        if total > self.free_hbm:
            raise RuntimeError(f"KV allocation of {total} blocks with {self.free_hbm} free")
        self.held["hbm"][ids] += blocks
        self.used["hbm"] += total
        self.peak_hbm_used = max(self.peak_hbm_used, self.used["hbm"])

    def grow(self, request: int, blocks: int) -> None:
        """`allocate` for one request."""
        if blocks > self.free_hbm:
            raise RuntimeError(f"KV allocation of {blocks} blocks with {self.free_hbm} free")
        self.held["hbm"][request] += blocks
        self.used["hbm"] += blocks
        self.peak_hbm_used = max(self.peak_hbm_used, self.used["hbm"])

    def release(self, ids: np.ndarray) -> None:
        """Free every block of the requests `ids`, in all tiers."""
        for tier, held in self.held.items():
            if self.used[tier]:  # an empty tier holds nothing for anyone
                self.used[tier] -= int(held[ids].sum())
                held[ids] = 0

    def offload(self, request: int) -> float | None:
        """Move a request's HBM blocks to DRAM, spilling to SSD; seconds taken, or None if no room."""
        blocks = int(self.held["hbm"][request])
        to_dram = min(blocks, self.capacity["dram"] - self.used["dram"])
        to_ssd = blocks - to_dram
        if to_ssd > self.capacity["ssd"] - self.used["ssd"]:
            return None
        self._move(request, "hbm", "dram", blocks)
        self._move(request, "dram", "ssd", to_ssd)
        self.bytes_moved["hbm_to_dram"] += blocks * self._block_bytes
        self.bytes_moved["dram_to_ssd"] += to_ssd * self._block_bytes
        return self._seconds(blocks, to_ssd)

    def restore(self, request: int) -> float:
        """Bring a request's offloaded blocks back to HBM; the caller checked they fit. Seconds taken."""
        from_ssd = int(self.held["ssd"][request])
        blocks = from_ssd + int(self.held["dram"][request])
        if blocks > self.free_hbm:
            raise RuntimeError(f"KV restore of {blocks} blocks with {self.free_hbm} free")
        self._move(request, "ssd", "dram", from_ssd)
        self._move(request, "dram", "hbm", blocks)
        self.peak_hbm_used = max(self.peak_hbm_used, self.used["hbm"])
        self.bytes_moved["ssd_to_dram"] += from_ssd * self._block_bytes
        self.bytes_moved["dram_to_hbm"] += blocks * self._block_bytes
        return self._seconds(blocks, from_ssd)

    def offloaded_blocks(self, request: int) -> int:
        return int(self.held["dram"][request] + self.held["ssd"][request])

    def check(self) -> None:
        """Invariants: per-request blocks add up to each tier's use, which stays within its capacity."""
        for tier, held in self.held.items():
            if int(held.sum()) != self.used[tier] or not 0 <= self.used[tier] <= self.capacity[tier]:
                raise AssertionError(
                    f"{tier}: held {int(held.sum())}, used {self.used[tier]}, capacity {self.capacity[tier]}"
                )

    @property
    def _block_bytes(self) -> float:
        return self.block_bytes_per_gpu * self.gpus

    def _move(self, request: int, src: str, dst: str, blocks: int) -> None:
        self.held[src][request] -= blocks
        self.held[dst][request] += blocks
        self.used[src] -= blocks
        self.used[dst] += blocks

    def _seconds(self, pcie_blocks: int, ssd_blocks: int) -> float:
        per_gpu = self.block_bytes_per_gpu
        return pcie_blocks * per_gpu / self.pcie_bandwidth + ssd_blocks * per_gpu / self.ssd_bandwidth
