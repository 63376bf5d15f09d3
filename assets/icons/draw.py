# Draws the Mailflow icon (blue rounded square, white envelope, green shield with a check)
# at 1024 px and box-filters it down to each size; writes PNGs with zlib only.
import zlib, struct, math, sys
N = 512
def inside_round_rect(x, y, x0, y0, x1, y1, r):
    if x < x0 or x > x1 or y < y0 or y > y1: return False
    cx = min(max(x, x0 + r), x1 - r); cy = min(max(y, y0 + r), y1 - r)
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r
def dist_seg(px, py, ax, ay, bx, by):
    dx, dy = bx - ax, by - ay
    t = max(0, min(1, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
    qx, qy = ax + t * dx, ay + t * dy
    return math.hypot(px - qx, py - qy)
BLUE = (0x1f, 0x5f, 0xbf, 255); WHITE = (255, 255, 255, 255); GREEN = (0x1e, 0x8e, 0x3e, 255)
def shade(u, v):
    # u, v in [0,1]
    if not inside_round_rect(u, v, 0.02, 0.02, 0.98, 0.98, 0.2): return (0, 0, 0, 0)
    c = BLUE
    # envelope body outline and flap
    x0, y0, x1, y1, w = 0.16, 0.27, 0.78, 0.71, 0.045
    on_rect = (x0 - w/2 <= u <= x1 + w/2 and y0 - w/2 <= v <= y1 + w/2) and not (x0 + w/2 < u < x1 - w/2 and y0 + w/2 < v < y1 - w/2)
    on_flap = dist_seg(u, v, x0, y0, (x0 + x1) / 2, 0.51) < w / 2 or dist_seg(u, v, x1, y0, (x0 + x1) / 2, 0.51) < w / 2
    if on_rect or on_flap: c = WHITE
    # shield at bottom right: circle-ish badge with white ring
    sx, sy, sr = 0.73, 0.70, 0.19
    d = math.hypot(u - sx, v - sy)
    if d < sr + 0.035: c = BLUE
    if d < sr: c = GREEN
    if d < sr and (dist_seg(u, v, sx - 0.085, sy + 0.005, sx - 0.025, sy + 0.065) < 0.028 or dist_seg(u, v, sx - 0.025, sy + 0.065, sx + 0.095, sy - 0.06) < 0.028): c = WHITE
    return c
big = [[shade((x + 0.5) / N, (y + 0.5) / N) for x in range(N)] for y in range(N)]
def png(size):
    f = N // size
    rows = []
    for y in range(size):
        row = bytearray([0])
        for x in range(size):
            acc = [0, 0, 0, 0]
            for yy in range(y * f, (y + 1) * f):
                for xx in range(x * f, (x + 1) * f):
                    r, g, b, a = big[yy][xx]
                    acc[0] += r * a; acc[1] += g * a; acc[2] += b * a; acc[3] += a
            n = f * f
            a = acc[3] / n
            if acc[3] == 0: row += bytes([0, 0, 0, 0])
            else: row += bytes([round(acc[0] / acc[3]), round(acc[1] / acc[3]), round(acc[2] / acc[3]), round(a)])
        rows.append(bytes(row))
    raw = b"".join(rows)
    def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
for s in [16, 32, 48, 64, 128, 256]:
    import os; open(os.path.join(os.path.dirname(os.path.abspath(__file__)), f"mailflow-{s}.png"), "wb").write(png(s))
print("ok")
