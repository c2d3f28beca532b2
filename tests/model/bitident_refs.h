/* Recorded from main at 6d3861c by `model_bitident --record configs/NAME BATCH` (see test_bitident.c). */
    {"original-64.yaml", 2, "Cooperlake",
     {0xfd9e9e5eeb742393ull, 0x9c706a108a503597ull, 0x2b76c0e086b1fcb7ull},
     0x8286ac3be0e1cd4eull, 0x1d94925d0c917544ull, 0x3c045186231595d6ull,
     {"0x1.3ab26c67b4478p-1 0x1.3d8dfe28fa234p-1", "0x1.30aaa47e5c8b2p-1 0x1.34a85cf14d602p-1", "0x1.2e806ce11543bp-1 0x1.3034cda91cc66p-1"}},
    {"quickstart.yaml", 4, "Cooperlake",
     {0xc5667baed95b998bull, 0x4094ac3ee60b8246ull, 0x660ab39e0a38dce3ull},
     0xdf2a325a03e0d583ull, 0xe4dc1783c1a3a596ull, 0x7a05dcd3faf66107ull,
     {"0x1.48e5b1a048216p-1 0x1.40ed770e84361p-1", "0x1.435c4d02fd3abp-1 0x1.3e403377bd37ep-1", "0x1.3c336ef6f7d8bp-1 0x1.3852a957cf5d3p-1"}},
