"""Storage identity and size of a tensor.

Memory is held by storages, not tensors: views, transposes and slices share one storage, so
every count in this package is over distinct storages, each at its full size."""


def storage_key(t):
    """(device, data pointer) of the storage behind `t`, and its size in bytes; None for empty."""
    s = t.untyped_storage()
    ptr, n = s.data_ptr(), s.nbytes()
    if not ptr or not n:
        return None, 0
    return (t.device.type, t.device.index, ptr), n


def distinct_bytes(tensors, exclude=()):
    """Total bytes of the distinct storages behind `tensors`, skipping keys in `exclude`."""
    seen, total = set(exclude), 0
    for t in tensors:
        if t is None:
            continue
        k, n = storage_key(t)
        if k is None or k in seen:
            continue
        seen.add(k)
        total += n
    return total
