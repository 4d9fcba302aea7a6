#!/usr/bin/env python3
"""Write heavenhell_3.pomdp and heavenhell_4.pomdp from hand-written adjacency tables.

Deliberately independent of lib/pomdp/heaven_hell.ts: the HH-3 table is copied from the table in
shared/spec/environments.md (section 1); the HH-4 table was worked out by hand from the movement
rules of the same section. Run from this folder:  python3 make_heavenhell.py
"""

# cell: (N, S, E, W); "END" = every action ends the episode (reset pair).
HH3 = {
    0: (1, 10, 0, 0),
    1: (2, 0, 1, 1),
    2: (3, 1, 2, 2),
    3: (3, 2, 7, 4),  # top fork
    4: (4, 4, 3, 5),
    5: (5, 5, 4, 6),
    6: "END",  # left end
    7: (7, 7, 8, 3),
    8: (8, 8, 9, 7),
    9: "END",  # right end
    10: (0, 10, 11, 10),  # bottom fork
    11: (11, 11, 12, 10),
    12: (12, 12, 13, 11),
    13: (13, 13, 13, 12),  # priest
}
HH4 = {
    0: (1, 13, 0, 0),
    1: (2, 0, 1, 1),
    2: (3, 1, 2, 2),
    3: (4, 2, 3, 3),
    4: (4, 3, 9, 5),  # top fork
    5: (5, 5, 4, 6),
    6: (6, 6, 5, 7),
    7: (7, 7, 6, 8),
    8: "END",  # left end
    9: (9, 9, 10, 4),
    10: (10, 10, 11, 9),
    11: (11, 11, 12, 10),
    12: "END",  # right end
    13: (0, 13, 14, 13),  # bottom fork
    14: (14, 14, 15, 13),
    15: (15, 15, 16, 14),
    16: (16, 16, 17, 15),
    17: (17, 17, 17, 16),  # priest
}


def write(n, table, path):
    cells = len(table)
    priest = cells - 1
    left_end, right_end = [c for c in table if table[c] == "END"]
    out = []
    out.append(f"# Heaven-Hell-{n} (Bonet 1998), episodic: every action in an end cell ends the episode.")
    out.append("# Written by data/pomdp/make_heavenhell.py from a hand-written adjacency table.")
    out.append("# States L<c> / R<c>: cell c with heaven at the Left / Right end.")
    out.append("# Observations c<k>: the cell id; at the priest, 'left' or 'right' (heaven's side).")
    out.append("discount: 0.99")
    out.append("values: reward")
    out.append("states: " + " ".join([f"L{c}" for c in range(cells)] + [f"R{c}" for c in range(cells)]))
    out.append("actions: N S E W")
    out.append("observations: " + " ".join([f"c{c}" for c in range(cells - 1)] + ["left", "right"]))
    out.append("start include: L0 R0")
    out.append("")
    for side in "LR":
        out.append(f"# transitions, heaven at the {'left' if side == 'L' else 'right'}")
        for c, row in table.items():
            if row == "END":
                out.append(f"T: * : {side}{c} reset")
                continue
            for a, c2 in zip("NSEW", row):
                out.append(f"T: {a} : {side}{c} : {side}{c2} 1.0")
    out.append("")
    out.append("# observations depend only on the next state")
    for side in "LR":
        for c in range(cells):
            o = ("left" if side == "L" else "right") if c == priest else f"c{c}"
            out.append(f"O: * : {side}{c} : {o} 1.0")
    out.append("")
    out.append("# acting in heaven pays +1, in hell -1")
    out.append(f"R: * : L{left_end} : * : * 1.0")
    out.append(f"R: * : L{right_end} : * : * -1.0")
    out.append(f"R: * : R{right_end} : * : * 1.0")
    out.append(f"R: * : R{left_end} : * : * -1.0")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


write(3, HH3, "heavenhell_3.pomdp")
write(4, HH4, "heavenhell_4.pomdp")
