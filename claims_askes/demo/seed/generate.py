"""Deterministic Indonesian demo data, built as pandas DataFrames (no database here).

Everything is drawn from numpy Generators spawned from one integer seed (and Faker's
`id_ID` locale seeded with it, for pools of names and streets), so the same seed and
`as_of` date give byte-identical frames. Work is vectorised over members, claims and
lines: the only Python loops run over small reference tables.

The data is shaped to reach every rule of docs/adjudication.md: members outside their
enrollment, coverage gaps and late starts (R2-R3), resubmitted claims (R4), inactive,
expired and excluded benefits (R5-R6), waiting periods and age limits (R7-R8),
approved/pending/denied/missing authorizations (R9), heavy users past visit and day
limits (R10-R11), out-of-network providers, fee schedules, cost sharing and limits
(A1-A10), plus about 2.5% malformed claims for R1. Claims are `submitted`, except a few
that an earlier batch pended on a pending authorization. The rarer cases are guaranteed
a few times over even in small data sets (tests seed 1,000 claims).

Amounts leave the random draws as integer cents (CENTS_COLUMNS) and stay exact.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import pandas as pd
from faker import Faker

Progress = Callable[[str, int, int], None]
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
ObjArray = npt.NDArray[np.object_]

EPOCH = date(1970, 1, 1)
NO_END = 2_000_000  # day number far in the future: "open-ended" in vectorised date maths
JAKARTA_OFFSET_S = 7 * 3600
WINDOW_DAYS = 548  # claims' service dates: the last ~18 months

# ---------------------------------------------------------------------------------------
# Reference data (small; mirrors common.benefit_code)
# ---------------------------------------------------------------------------------------

BENEFITS: tuple[tuple[str, str, str, str], ...] = (
    # code, name, category, limitation_type
    ("OP_GP", "Konsultasi dokter umum", "outpatient", "visits"),
    ("OP_SPECIALIST", "Konsultasi dokter spesialis", "outpatient", "visits"),
    ("OP_PHYSIO", "Fisioterapi", "outpatient", "visits"),
    ("OP_MENTAL", "Kesehatan jiwa", "outpatient", "visits"),
    ("IP_ROOM", "Kamar dan makan", "inpatient", "days"),
    ("IP_ICU", "ICU / ICCU", "inpatient", "days"),
    ("IP_SURGERY", "Tindakan operasi", "inpatient", "amount"),
    ("IP_DOCTOR", "Visit dokter rawat inap", "inpatient", "amount"),
    ("EMERGENCY", "Gawat darurat", "emergency", "amount"),
    ("MATERNITY", "Persalinan", "maternity", "amount"),
    ("DENTAL", "Perawatan gigi", "dental", "amount"),
    ("OPTICAL", "Kacamata", "optical", "amount"),
    ("PHARMACY", "Obat-obatan", "pharmacy", "amount"),
    ("LAB", "Laboratorium", "diagnostic", "amount"),
    ("RADIOLOGY", "Radiologi", "diagnostic", "amount"),
)
BENEFIT_CODES = [b[0] for b in BENEFITS]
BENEFIT_INDEX = {code: i for i, code in enumerate(BENEFIT_CODES)}
PREAUTH_BENEFITS = ("IP_SURGERY", "MATERNITY", "IP_ICU")

# Procedures: code, description, benefit, base price per unit (rupiah), relative frequency.
# ICD-9-CM procedure codes where one exists (as used by INA-CBG), hospital tariff codes else.
PROCEDURES: tuple[tuple[str, str, str, int, float], ...] = (
    ("89.01", "Konsultasi dokter umum", "OP_GP", 150_000, 0.7),
    ("89.7", "Pemeriksaan fisik umum", "OP_GP", 200_000, 0.3),
    ("89.03", "Konsultasi dokter spesialis", "OP_SPECIALIST", 350_000, 0.75),
    ("89.52", "Elektrokardiografi (EKG)", "OP_SPECIALIST", 250_000, 0.15),
    ("95.41", "Audiometri", "OP_SPECIALIST", 300_000, 0.10),
    ("93.39", "Fisioterapi", "OP_PHYSIO", 250_000, 0.7),
    ("93.11", "Latihan terapeutik", "OP_PHYSIO", 200_000, 0.3),
    ("94.08", "Evaluasi psikologis", "OP_MENTAL", 450_000, 0.4),
    ("94.39", "Psikoterapi individual", "OP_MENTAL", 550_000, 0.6),
    ("KMR-VIP", "Kamar VIP per hari", "IP_ROOM", 2_500_000, 0.10),
    ("KMR-K1", "Kamar kelas 1 per hari", "IP_ROOM", 1_200_000, 0.35),
    ("KMR-K2", "Kamar kelas 2 per hari", "IP_ROOM", 700_000, 0.35),
    ("KMR-K3", "Kamar kelas 3 per hari", "IP_ROOM", 350_000, 0.20),
    ("KMR-ICU", "Ruang ICU per hari", "IP_ICU", 4_500_000, 0.7),
    ("KMR-HCU", "Ruang HCU per hari", "IP_ICU", 2_500_000, 0.3),
    ("47.09", "Apendektomi", "IP_SURGERY", 18_000_000, 0.18),
    ("51.23", "Kolesistektomi laparoskopik", "IP_SURGERY", 35_000_000, 0.10),
    ("53.00", "Herniorafi inguinal", "IP_SURGERY", 15_000_000, 0.15),
    ("79.35", "Reposisi terbuka fraktur femur (ORIF)", "IP_SURGERY", 45_000_000, 0.08),
    ("36.06", "Pemasangan stent koroner (PCI)", "IP_SURGERY", 95_000_000, 0.05),
    ("13.41", "Fakoemulsifikasi katarak", "IP_SURGERY", 12_000_000, 0.14),
    ("85.41", "Mastektomi", "IP_SURGERY", 40_000_000, 0.04),
    ("81.54", "Penggantian sendi lutut total", "IP_SURGERY", 120_000_000, 0.02),
    ("86.04", "Insisi dan drainase abses", "IP_SURGERY", 3_000_000, 0.20),
    ("86.82", "Ritidektomi wajah (kosmetik)", "IP_SURGERY", 60_000_000, 0.02),
    ("86.83", "Liposuction (kosmetik)", "IP_SURGERY", 45_000_000, 0.02),
    ("V-DU", "Visit dokter umum rawat inap", "IP_DOCTOR", 150_000, 0.3),
    ("V-SP", "Visit dokter spesialis rawat inap", "IP_DOCTOR", 350_000, 0.7),
    ("IGD-01", "Penanganan gawat darurat", "EMERGENCY", 500_000, 0.47),
    ("IGD-TRM", "Penanganan trauma mayor", "EMERGENCY", 14_000_000, 0.03),
    ("86.59", "Penjahitan luka", "EMERGENCY", 750_000, 0.3),
    ("93.54", "Pemasangan bidai", "EMERGENCY", 600_000, 0.1),
    ("96.04", "Intubasi endotrakeal", "EMERGENCY", 1_500_000, 0.1),
    ("73.59", "Persalinan normal", "MATERNITY", 7_500_000, 0.55),
    ("74.1", "Seksio sesarea", "MATERNITY", 22_000_000, 0.35),
    ("89.26", "Pemeriksaan antenatal", "MATERNITY", 300_000, 0.10),
    ("23.2", "Penambalan gigi", "DENTAL", 350_000, 0.35),
    ("23.09", "Pencabutan gigi", "DENTAL", 400_000, 0.25),
    ("96.54", "Scaling gigi", "DENTAL", 300_000, 0.20),
    ("23.70", "Perawatan saluran akar", "DENTAL", 1_500_000, 0.15),
    ("24.7", "Pemasangan kawat gigi (ortodonti)", "DENTAL", 12_000_000, 0.05),
    ("95.02", "Pemeriksaan mata lengkap", "OPTICAL", 200_000, 0.3),
    ("OPT-LNS", "Lensa kacamata", "OPTICAL", 800_000, 0.4),
    ("OPT-FRM", "Bingkai kacamata", "OPTICAL", 750_000, 0.3),
    ("OBT-GEN", "Obat generik", "PHARMACY", 75_000, 0.6),
    ("OBT-PAT", "Obat paten", "PHARMACY", 250_000, 0.35),
    ("OBT-ONK", "Obat onkologi", "PHARMACY", 6_000_000, 0.05),
    ("LAB-DL", "Darah lengkap", "LAB", 120_000, 0.35),
    ("LAB-KK", "Kimia klinik", "LAB", 250_000, 0.30),
    ("LAB-UR", "Urinalisis", "LAB", 80_000, 0.15),
    ("LAB-HBA", "HbA1c", "LAB", 200_000, 0.10),
    ("LAB-PCR", "PCR", "LAB", 750_000, 0.10),
    ("87.44", "Rontgen thorax", "RADIOLOGY", 250_000, 0.40),
    ("88.76", "USG abdomen", "RADIOLOGY", 500_000, 0.30),
    ("87.03", "CT scan kepala", "RADIOLOGY", 1_800_000, 0.12),
    ("88.01", "CT scan abdomen", "RADIOLOGY", 2_500_000, 0.10),
    ("88.91", "MRI otak", "RADIOLOGY", 4_500_000, 0.08),
)
PROC_CODES = np.array([p[0] for p in PROCEDURES], dtype=object)
PROC_INDEX = {p[0]: j for j, p in enumerate(PROCEDURES)}
PROC_BENEFIT = np.array([BENEFIT_INDEX[p[2]] for p in PROCEDURES])
PROC_PRICE = np.array([p[3] for p in PROCEDURES], dtype=np.float64)
COSMETIC_PROCS = ("86.82", "86.83")

# Procedures a provider type offers (and so has fee-schedule rows for): benefit codes,
# or explicit procedure codes.
PROVIDER_OFFERS: dict[str, tuple[str, ...]] = {
    "hospital": tuple(BENEFIT_CODES),
    "clinic": (
        "OP_GP",
        "OP_SPECIALIST",
        "OP_PHYSIO",
        "OP_MENTAL",
        "IGD-01",
        "86.59",
        "73.59",
        "89.26",
        "23.2",
        "23.09",
        "96.54",
        "23.70",
        "OBT-GEN",
        "OBT-PAT",
        "LAB-DL",
        "LAB-KK",
        "LAB-UR",
        "LAB-HBA",
        "87.44",
        "88.76",
    ),
    "puskesmas": ("OP_GP", "73.59", "89.26", "23.2", "23.09", "OBT-GEN", "LAB-DL", "LAB-UR"),
    "laboratory": ("LAB", "RADIOLOGY"),
    "pharmacy": ("PHARMACY",),
    "specialist": ("OP_SPECIALIST", "OP_MENTAL"),
    "dentist": ("DENTAL",),
    "optical": ("OPTICAL",),
}
PROVIDER_TYPES = tuple(PROVIDER_OFFERS)
PROVIDER_TYPE_SHARE = (0.20, 0.25, 0.15, 0.08, 0.15, 0.08, 0.05, 0.04)
PROVIDER_TYPE_CODE = ("RS", "KL", "PKM", "LAB", "APT", "SP", "DG", "OPT")


# Claim categories: service_type, main benefit, share of claims, provider types (share),
# ancillary benefits of lines 2-5 (share), diagnoses (ICD-10, share).
@dataclass(frozen=True)
class Category:
    name: str
    service_type: str
    main: str
    share: float
    providers: tuple[tuple[str, float], ...]
    ancillary: tuple[tuple[str, float], ...]
    diagnoses: tuple[tuple[str, float], ...]


CATEGORIES: tuple[Category, ...] = (
    Category(
        "gp",
        "outpatient",
        "OP_GP",
        0.36,
        (("clinic", 0.45), ("puskesmas", 0.30), ("hospital", 0.25)),
        (("PHARMACY", 0.6), ("LAB", 0.3), ("RADIOLOGY", 0.1)),
        (
            ("J06.9", 0.18),
            ("J00", 0.08),
            ("A09", 0.08),
            ("K29.7", 0.06),
            ("I10", 0.08),
            ("E11.9", 0.06),
            ("M54.5", 0.05),
            ("R50.9", 0.06),
            ("J02.9", 0.05),
            ("K30", 0.04),
            ("L30.9", 0.03),
            ("B34.9", 0.04),
            ("R51", 0.03),
            ("N39.0", 0.03),
            ("H10.9", 0.03),
            ("J20.9", 0.03),
            ("E78.5", 0.03),
            ("M79.1", 0.02),
            ("Z00.0", 0.02),
        ),
    ),
    Category(
        "specialist",
        "outpatient",
        "OP_SPECIALIST",
        0.15,
        (("hospital", 0.60), ("specialist", 0.30), ("clinic", 0.10)),
        (("PHARMACY", 0.5), ("LAB", 0.3), ("RADIOLOGY", 0.2)),
        (
            ("I10", 0.12),
            ("E11.9", 0.12),
            ("I25.1", 0.06),
            ("J45.9", 0.06),
            ("M17.9", 0.05),
            ("K21.9", 0.05),
            ("N18.5", 0.03),
            ("E78.5", 0.06),
            ("G43.9", 0.04),
            ("L20.9", 0.04),
            ("M54.5", 0.05),
            ("I50.0", 0.04),
            ("C50.9", 0.03),
            ("N40", 0.04),
            ("E03.9", 0.04),
            ("K58.9", 0.04),
            ("O21.0", 0.015),
            ("N97.9", 0.01),
            ("Z41.1", 0.01),
            ("H66.9", 0.04),
            ("J30.4", 0.04),
            ("G40.9", 0.03),
        ),
    ),
    Category(
        "physio",
        "outpatient",
        "OP_PHYSIO",
        0.03,
        (("hospital", 0.70), ("clinic", 0.30)),
        (("PHARMACY", 0.5), ("RADIOLOGY", 0.5)),
        (
            ("M54.5", 0.3),
            ("M17.9", 0.2),
            ("S93.4", 0.1),
            ("M75.1", 0.15),
            ("G81.9", 0.15),
            ("M25.5", 0.1),
        ),
    ),
    Category(
        "mental",
        "outpatient",
        "OP_MENTAL",
        0.02,
        (("hospital", 0.50), ("specialist", 0.30), ("clinic", 0.20)),
        (("PHARMACY", 0.8), ("LAB", 0.2)),
        (
            ("F32.9", 0.3),
            ("F41.1", 0.3),
            ("F43.1", 0.1),
            ("F20.9", 0.1),
            ("F31.9", 0.1),
            ("F10.2", 0.05),
            ("F90.0", 0.05),
        ),
    ),
    Category(
        "inpatient",
        "inpatient",
        "IP_ROOM",
        0.10,
        (("hospital", 1.0),),
        (
            ("IP_DOCTOR", 0.30),
            ("PHARMACY", 0.25),
            ("LAB", 0.15),
            ("IP_SURGERY", 0.12),
            ("IP_ICU", 0.08),
            ("RADIOLOGY", 0.10),
        ),
        (
            ("A01.0", 0.12),
            ("A91", 0.10),
            ("J18.9", 0.12),
            ("I21.9", 0.05),
            ("I63.9", 0.05),
            ("K35.8", 0.06),
            ("K80.2", 0.04),
            ("N20.0", 0.04),
            ("S72.0", 0.03),
            ("S82.2", 0.03),
            ("I50.0", 0.05),
            ("N18.5", 0.04),
            ("C50.9", 0.02),
            ("K40.9", 0.05),
            ("A15.0", 0.03),
            ("E11.6", 0.04),
            ("K92.2", 0.03),
            ("A09", 0.05),
            ("H25.9", 0.03),
            ("Z41.1", 0.01),
        ),
    ),
    Category(
        "emergency",
        "emergency",
        "EMERGENCY",
        0.06,
        (("hospital", 0.95), ("clinic", 0.05)),
        (("PHARMACY", 0.45), ("LAB", 0.30), ("RADIOLOGY", 0.25)),
        (
            ("S06.0", 0.10),
            ("S52.5", 0.08),
            ("R10.4", 0.12),
            ("T78.4", 0.06),
            ("S61.0", 0.10),
            ("I20.0", 0.06),
            ("R07.4", 0.10),
            ("S01.8", 0.08),
            ("R55", 0.08),
            ("J45.9", 0.06),
            ("A09", 0.08),
            ("R50.9", 0.08),
        ),
    ),
    Category(
        "maternity",
        "maternity",
        "MATERNITY",
        0.03,
        (("hospital", 0.65), ("clinic", 0.25), ("puskesmas", 0.10)),
        (("IP_ROOM", 0.35), ("PHARMACY", 0.25), ("LAB", 0.25), ("RADIOLOGY", 0.15)),
        (
            ("O80", 0.50),
            ("O82", 0.25),
            ("O42.0", 0.05),
            ("O21.0", 0.05),
            ("O24.4", 0.04),
            ("O14.1", 0.04),
            ("O99.0", 0.03),
            ("O60.1", 0.04),
        ),
    ),
    Category(
        "dental",
        "dental",
        "DENTAL",
        0.06,
        (("dentist", 0.50), ("clinic", 0.30), ("hospital", 0.15), ("puskesmas", 0.05)),
        (("DENTAL", 0.7), ("PHARMACY", 0.3)),
        (
            ("K02.1", 0.3),
            ("K04.0", 0.2),
            ("K05.1", 0.2),
            ("K08.1", 0.1),
            ("K01.1", 0.1),
            ("K07.3", 0.1),
        ),
    ),
    Category(
        "optical",
        "optical",
        "OPTICAL",
        0.03,
        (("optical", 0.85), ("hospital", 0.15)),
        (("OPTICAL", 1.0),),
        (("H52.1", 0.4), ("H52.0", 0.2), ("H52.4", 0.25), ("H52.2", 0.15)),
    ),
    Category(
        "pharmacy",
        "pharmacy",
        "PHARMACY",
        0.08,
        (("pharmacy", 1.0),),
        (("PHARMACY", 1.0),),
        (
            ("I10", 0.2),
            ("E11.9", 0.2),
            ("J06.9", 0.15),
            ("E78.5", 0.1),
            ("J45.9", 0.1),
            ("K29.7", 0.1),
            ("M54.5", 0.05),
            ("F32.9", 0.05),
            ("C50.9", 0.05),
        ),
    ),
    Category(
        "diagnostic",
        "diagnostic",
        "LAB",
        0.08,
        (("laboratory", 0.75), ("hospital", 0.25)),
        (("LAB", 0.7), ("RADIOLOGY", 0.3)),
        (
            ("Z00.0", 0.3),
            ("E11.9", 0.15),
            ("I10", 0.1),
            ("R50.9", 0.1),
            ("A91", 0.05),
            ("N39.0", 0.05),
            ("Z01.7", 0.1),
            ("R10.4", 0.05),
            ("J18.9", 0.05),
            ("K76.0", 0.05),
        ),
    ),
)
CAT_INDEX = {c.name: i for i, c in enumerate(CATEGORIES)}
LINES_PER_CLAIM_P = (0.15, 0.20, 0.30, 0.20, 0.15)  # 1..5 lines, mean 3.0
MEAN_LINES_PER_CLAIM = float(np.dot(np.arange(1, 6), LINES_PER_CLAIM_P))
EMPTY_CLAIM_SHARE = 0.004  # claims sent without lines (R1), in the malformed share below


def claims_for_lines(lines: int) -> int:
    """How many claims give about `lines` claim lines (a little more rather than less)."""
    per_claim = MEAN_LINES_PER_CLAIM * (1 - EMPTY_CLAIM_SHARE)
    return max(1, math.ceil(lines / per_claim * 1.002))


# City, province, NIK regency code, postal code prefix, phone area code, weight.
CITIES: tuple[tuple[str, str, int, str, str, float], ...] = (
    ("Jakarta Selatan", "DKI Jakarta", 3174, "12", "21", 8),
    ("Jakarta Timur", "DKI Jakarta", 3175, "13", "21", 9),
    ("Jakarta Pusat", "DKI Jakarta", 3171, "10", "21", 4),
    ("Jakarta Barat", "DKI Jakarta", 3173, "11", "21", 8),
    ("Jakarta Utara", "DKI Jakarta", 3172, "14", "21", 5),
    ("Bandung", "Jawa Barat", 3273, "40", "22", 7),
    ("Bekasi", "Jawa Barat", 3275, "17", "21", 7),
    ("Depok", "Jawa Barat", 3276, "16", "21", 5),
    ("Bogor", "Jawa Barat", 3271, "16", "251", 3),
    ("Surabaya", "Jawa Timur", 3578, "60", "31", 8),
    ("Malang", "Jawa Timur", 3573, "65", "341", 3),
    ("Semarang", "Jawa Tengah", 3374, "50", "24", 4),
    ("Surakarta", "Jawa Tengah", 3372, "57", "271", 2),
    ("Yogyakarta", "DI Yogyakarta", 3471, "55", "274", 2),
    ("Tangerang", "Banten", 3671, "15", "21", 5),
    ("Serang", "Banten", 3673, "42", "254", 2),
    ("Medan", "Sumatera Utara", 1275, "20", "61", 6),
    ("Palembang", "Sumatera Selatan", 1671, "30", "711", 4),
    ("Padang", "Sumatera Barat", 1371, "25", "751", 2),
    ("Pekanbaru", "Riau", 1471, "28", "761", 3),
    ("Batam", "Kepulauan Riau", 2171, "29", "778", 3),
    ("Jambi", "Jambi", 1571, "36", "741", 1),
    ("Bandar Lampung", "Lampung", 1871, "35", "721", 3),
    ("Denpasar", "Bali", 5171, "80", "361", 2),
    ("Mataram", "Nusa Tenggara Barat", 5271, "83", "370", 1),
    ("Kupang", "Nusa Tenggara Timur", 5371, "85", "380", 1),
    ("Makassar", "Sulawesi Selatan", 7371, "90", "411", 4),
    ("Manado", "Sulawesi Utara", 7171, "95", "431", 1),
    ("Balikpapan", "Kalimantan Timur", 6471, "76", "542", 2),
    ("Samarinda", "Kalimantan Timur", 6472, "75", "541", 2),
    ("Banjarmasin", "Kalimantan Selatan", 6371, "70", "511", 2),
    ("Pontianak", "Kalimantan Barat", 6171, "78", "561", 2),
    ("Ambon", "Maluku", 8171, "97", "911", 1),
    ("Jayapura", "Papua", 9171, "99", "967", 1),
)
MOBILE_PREFIXES = (
    "811",
    "812",
    "813",
    "821",
    "822",
    "823",
    "852",
    "853",
    "814",
    "815",
    "816",
    "855",
    "856",
    "857",
    "858",
    "817",
    "818",
    "819",
    "859",
    "877",
    "878",
    "831",
    "832",
    "838",
    "895",
    "896",
    "897",
    "898",
    "899",
    "881",
    "882",
    "887",
    "888",
)
EMAIL_DOMAINS = (
    "gmail.com",
    "gmail.com",
    "gmail.com",
    "gmail.com",
    "yahoo.co.id",
    "yahoo.com",
    "outlook.com",
    "hotmail.com",
    "ymail.com",
)
NAME_WORDS = (
    "Medika",
    "Husada",
    "Sehat",
    "Harapan",
    "Bunda",
    "Permata",
    "Citra",
    "Mulia",
    "Sentosa",
    "Bakti",
    "Mitra",
    "Insani",
    "Prima",
    "Sejahtera",
    "Pelita",
    "Cahaya",
    "Kasih",
    "Amanah",
    "Sentra",
    "Utama",
    "Kartika",
    "Persada",
    "Anugerah",
    "Nusantara",
    "Mandiri",
    "Sari",
    "Asih",
    "Waluyo",
    "Jaya",
    "Abadi",
)
SPECIALTIES: tuple[tuple[str, str], ...] = (
    ("SpPD", "Penyakit Dalam"),
    ("SpA", "Anak"),
    ("SpOG", "Obstetri dan Ginekologi"),
    ("SpB", "Bedah"),
    ("SpJP", "Jantung dan Pembuluh Darah"),
    ("SpM", "Mata"),
    ("SpTHT-KL", "Telinga Hidung Tenggorok"),
    ("SpN", "Neurologi"),
    ("SpKK", "Kulit dan Kelamin"),
    ("SpKJ", "Kedokteran Jiwa"),
    ("SpOT", "Ortopedi"),
    ("SpP", "Paru"),
    ("SpU", "Urologi"),
    ("SpRad", "Radiologi"),
    ("SpAn", "Anestesi"),
    ("SpKFR", "Kedokteran Fisik dan Rehabilitasi"),
)

# ---------------------------------------------------------------------------------------
# Plans and their benefit designs
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanSpec:
    code: str
    name: str
    plan_type: str
    tier: str
    status: str
    effective: date
    monthly_premium: int
    oop_max: int | None


PLANS: tuple[PlanSpec, ...] = (
    PlanSpec(
        "ASKES-DASAR",
        "Askes Dasar",
        "individual",
        "bronze",
        "active",
        date(2016, 1, 1),
        150_000,
        None,
    ),
    PlanSpec(
        "ASKES-PERAK",
        "Askes Keluarga Perak",
        "family",
        "silver",
        "active",
        date(2016, 1, 1),
        350_000,
        15_000_000,
    ),
    PlanSpec(
        "ASKES-EMAS",
        "Askes Keluarga Emas",
        "family",
        "gold",
        "active",
        date(2017, 1, 1),
        650_000,
        10_000_000,
    ),
    PlanSpec(
        "ASKES-PLATINUM",
        "Askes Platinum",
        "individual",
        "platinum",
        "active",
        date(2019, 7, 1),
        1_200_000,
        5_000_000,
    ),
    PlanSpec(
        "ASKES-KORPORAT",
        "Askes Korporat",
        "group",
        "corporate",
        "active",
        date(2015, 1, 1),
        450_000,
        7_500_000,
    ),
    PlanSpec(
        "ASKES-LAMA",
        "Askes Lama (tidak dijual lagi)",
        "individual",
        "legacy",
        "retired",
        date(2012, 1, 1),
        120_000,
        4_000_000,
    ),
)
PLAN_INDEX = {p.code: i for i, p in enumerate(PLANS)}
P_BASIC, P_SILVER, P_GOLD, P_PLAT, P_CORP, P_LEGACY = range(6)
LEGACY_END_DAYS_AGO = 200  # the legacy plan (and its benefits) expired this long before as_of

_BASE_DESIGN: dict[str, dict[str, Any]] = {
    "OP_GP": {"annual": 3_000_000, "visit": 12, "copay": 25_000},
    "OP_SPECIALIST": {"annual": 10_000_000, "visit": 10, "copay": 50_000},
    "OP_PHYSIO": {"annual": 6_000_000, "visit": 12, "coins": 10},
    "OP_MENTAL": {"annual": 8_000_000, "visit": 8, "lifetime": 25_000_000, "coins": 20},
    "IP_ROOM": {"annual": 150_000_000, "day": 60, "deductible": 500_000},
    "IP_ICU": {"annual": 100_000_000, "day": 10},
    "IP_SURGERY": {
        "annual": 200_000_000,
        "incident": 60_000_000,
        "lifetime": 1_000_000_000,
        "preauth": True,
        "coins": 10,
        "coverage_type": "per_incident",
    },
    "IP_DOCTOR": {"annual": 30_000_000},
    "EMERGENCY": {
        "annual": 30_000_000,
        "incident": 10_000_000,
        "copay": 100_000,
        "out": 100,
        "coverage_type": "per_incident",
    },
    "MATERNITY": {"annual": 25_000_000, "lifetime": 75_000_000, "preauth": True, "waiting": 365},
    "DENTAL": {"annual": 3_000_000, "deductible": 250_000, "coins": 20, "waiting": 180},
    "OPTICAL": {"annual": 1_500_000, "age_max": 17},
    "PHARMACY": {"annual": 20_000_000, "copay": 10_000, "coins": 10},
    "LAB": {"annual": 10_000_000},
    "RADIOLOGY": {"annual": 15_000_000},
}

_PLAN_OVERRIDES: dict[int, tuple[float, dict[str, dict[str, Any]]]] = {
    # plan: (multiplier of amount limits, per-benefit overrides)
    P_BASIC: (
        0.5,
        {
            "OP_GP": {"visit": 6, "deductible": 50_000, "copay": 50_000, "out": 50},
            "OP_SPECIALIST": {"visit": 4, "copay": 100_000, "out": 50},
            "OP_PHYSIO": {"visit": 4, "out": 50},
            "OP_MENTAL": {"visit": 4, "lifetime": 10_000_000, "out": 50},
            "IP_ROOM": {"day": 30, "deductible": 1_000_000, "in": 90, "out": 50},
            "IP_ICU": {"day": 5, "out": 50},
            "IP_SURGERY": {"incident": 30_000_000, "lifetime": 250_000_000, "coins": 20, "out": 50},
            "IP_DOCTOR": {"out": 50},
            "MATERNITY": {"active": False},
            "DENTAL": {"deductible": 500_000, "out": 0},
            "OPTICAL": {"age_max": None, "expires_days_ago": 270},
            "PHARMACY": {"coins": 20, "copay": 20_000, "out": 50},
            "LAB": {"out": 50},
            "RADIOLOGY": {"out": 50, "coins": 10},
        },
    ),
    P_SILVER: (1.0, {}),
    P_GOLD: (
        2.0,
        {
            "OP_GP": {"visit": 24, "copay": 15_000, "out": 70},
            "OP_SPECIALIST": {"visit": 20, "copay": 30_000, "out": 70},
            "OP_PHYSIO": {"visit": 24},
            "OP_MENTAL": {"visit": 16},
            "IP_ROOM": {"day": 90, "deductible": 0, "out": 70},
            "IP_ICU": {"day": 15, "out": 70},
            "IP_SURGERY": {"incident": 100_000_000, "out": 70},
            "MATERNITY": {"waiting": 270, "age_min": 18, "age_max": 45},
            "DENTAL": {"waiting": 90},
            "OPTICAL": {"age_max": None, "annual": 3_000_000},
        },
    ),
    P_PLAT: (
        4.0,
        {
            "OP_GP": {"visit": None, "copay": 0, "out": 90},
            "OP_SPECIALIST": {"visit": None, "copay": 0, "out": 90},
            "OP_PHYSIO": {"visit": 36, "coins": 0, "out": 90},
            "OP_MENTAL": {
                "visit": 24,
                "coins": 0,
                "lifetime": 100_000_000,
                "out": 90,
                "starts_days_ago": 120,
            },
            "IP_ROOM": {"day": 180, "deductible": 0, "out": 90},
            "IP_ICU": {"day": 30, "out": 90},
            "IP_SURGERY": {"incident": None, "lifetime": 2_000_000_000, "coins": 0, "out": 90},
            "IP_DOCTOR": {"out": 90},
            "MATERNITY": {"waiting": 270, "out": 90},
            "DENTAL": {"deductible": 0, "coins": 10, "waiting": 90, "out": 90},
            "OPTICAL": {"age_max": None, "annual": 5_000_000, "out": 90},
            "PHARMACY": {"copay": 0, "coins": 0, "out": 90},
            "LAB": {"out": 90},
            "RADIOLOGY": {"out": 90},
        },
    ),
    P_CORP: (
        1.5,
        {
            "OP_GP": {"visit": 18, "out": 75},
            "OP_SPECIALIST": {"visit": 12, "out": 75},
            "OP_MENTAL": {"active": False},
            "IP_ROOM": {"out": 75},
            "IP_ICU": {"preauth": True, "out": 75},
            "IP_SURGERY": {"out": 75},
            "MATERNITY": {"waiting": 0},
            "DENTAL": {"waiting": 0, "annual": 5_000_000},
            "OPTICAL": {"age_max": None, "age_min": 18},
            "PHARMACY": {"out": 75},
        },
    ),
    P_LEGACY: (
        0.4,
        {
            "OP_GP": {"visit": 6, "copay": 50_000, "out": 50},
            "OP_SPECIALIST": {"visit": 4, "out": 50},
            "IP_ROOM": {"day": 20, "out": 50},
            "IP_ICU": {"day": 5, "out": 50},
            "MATERNITY": {"active": False},
            "OPTICAL": {"age_max": None},
        },
    ),
}

# Exclusions: plan, benefit (None = all), diagnosis prefix, procedure, description,
# (expiration in days before as_of, or None).
EXCLUSIONS: tuple[tuple[int, str | None, str | None, str | None, str, int | None], ...] = (
    (P_BASIC, None, "O", None, "Kehamilan dan persalinan tidak ditanggung", None),
    (P_BASIC, None, "Z41", None, "Prosedur kosmetik", None),
    (P_BASIC, None, None, "86.82", "Bedah plastik kosmetik (ritidektomi)", None),
    (P_BASIC, None, None, "86.83", "Bedah plastik kosmetik (liposuction)", None),
    (P_BASIC, None, "F10", None, "Gangguan akibat alkohol", None),
    (P_BASIC, None, "N97", None, "Infertilitas", None),
    (P_SILVER, "OP_GP", "O", None, "Kehamilan hanya melalui manfaat persalinan", None),
    (P_SILVER, "OP_SPECIALIST", "O", None, "Kehamilan hanya melalui manfaat persalinan", None),
    (P_SILVER, "IP_ROOM", "O", None, "Kehamilan hanya melalui manfaat persalinan", None),
    (P_SILVER, "IP_SURGERY", "O", None, "Kehamilan hanya melalui manfaat persalinan", None),
    (P_SILVER, None, "Z41", None, "Prosedur kosmetik", None),
    (P_SILVER, None, None, "86.82", "Bedah plastik kosmetik", None),
    (P_SILVER, None, None, "86.83", "Bedah plastik kosmetik", None),
    (P_SILVER, "DENTAL", None, "24.7", "Ortodonti", None),
    (P_SILVER, None, "N97", None, "Infertilitas", None),
    (P_GOLD, None, None, "86.82", "Bedah plastik kosmetik", None),
    (P_GOLD, None, "Z41", None, "Prosedur kosmetik", None),
    (P_GOLD, "DENTAL", None, "24.7", "Ortodonti (ditanggung sejak perubahan polis)", 365),
    (P_PLAT, None, None, "86.83", "Liposuction", None),
    (P_CORP, None, "Z41", None, "Prosedur kosmetik", None),
    (P_CORP, None, None, "86.82", "Bedah plastik kosmetik", None),
    (P_CORP, None, None, "86.83", "Bedah plastik kosmetik", None),
    (P_CORP, "DENTAL", None, "24.7", "Ortodonti", None),
    (P_CORP, None, "F10", None, "Gangguan akibat alkohol", None),
    (P_LEGACY, None, "O", None, "Kehamilan dan persalinan tidak ditanggung", None),
    (P_LEGACY, None, "Z41", None, "Prosedur kosmetik", None),
)


def plan_design(plan: int) -> dict[str, dict[str, Any]]:
    """Every benefit's parameters for one plan: the base design, scaled and overridden."""
    mult, overrides = _PLAN_OVERRIDES[plan]
    out: dict[str, dict[str, Any]] = {}
    for code in BENEFIT_CODES:
        d: dict[str, Any] = {
            "annual": None,
            "incident": None,
            "lifetime": None,
            "day": None,
            "visit": None,
            "deductible": 0,
            "coins": 0,
            "copay": 0,
            "preauth": False,
            "waiting": 0,
            "age_min": None,
            "age_max": None,
            "in": 100,
            "out": 80,
            "active": True,
            "coverage_type": "per_year",
            "expires_days_ago": None,
            "starts_days_ago": None,
        }
        d.update(_BASE_DESIGN[code])
        for key in ("annual", "incident", "lifetime"):
            if d[key] is not None:
                d[key] = int(round(d[key] * mult / 500_000) * 500_000) or 500_000
        d.update(overrides.get(code, {}))
        if d["lifetime"] is not None and d["coverage_type"] == "per_year" and d["annual"] is None:
            d["coverage_type"] = "lifetime"
        out[code] = d
    return out


# ---------------------------------------------------------------------------------------
# Small vectorised helpers
# ---------------------------------------------------------------------------------------

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_UUID_HEX_POS = np.array([i for i in range(36) if i not in (8, 13, 18, 23)])


def text_rows(chars: npt.NDArray[np.uint8]) -> ObjArray:
    """Rows of an (n, width) ASCII byte matrix as Python strings: one decode and one
    split, instead of a Python call per row."""
    n, width = chars.shape
    if n == 0:
        return np.empty(0, dtype=object)
    buf = np.empty((n, width + 1), dtype=np.uint8)
    buf[:, :width] = chars
    buf[:, width] = ord("\n")
    return np.array(buf.tobytes().decode("ascii").split("\n")[:n], dtype=object)


def uuid_strings(rng: np.random.Generator, n: int, *, ordered: bool = True) -> ObjArray:
    """n version-4 UUIDs as strings, from 16 random bytes each (as uuid.UUID(bytes=...,
    version=4) would print them). `ordered` hands them out sorted, so rows inserted in
    order append to primary-key indexes instead of splitting random pages (and foreign
    keys to them are looked up in order); each is as random as any other v4 UUID."""
    raw = np.frombuffer(rng.bytes(16 * n), dtype=np.uint8).reshape(n, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    if ordered and n > 1:  # by the first 8 bytes (a tie is as good as impossible)
        raw = raw[np.argsort(raw[:, :8].copy().view(">u8").ravel(), kind="stable")]
    text = np.full((n, 36), ord("-"), dtype=np.uint8)
    text[:, _UUID_HEX_POS[0::2]] = _HEX[raw >> 4]
    text[:, _UUID_HEX_POS[1::2]] = _HEX[raw & 0x0F]
    return text_rows(text)


def digit_matrix(values: IntArray, width: int) -> npt.NDArray[np.uint8]:
    """Non-negative integers as zero-padded ASCII digits, one row each."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return ((np.asarray(values, dtype=np.int64)[:, None] // powers) % 10 + 48).astype(np.uint8)


def compose(n: int, *parts: str | tuple[IntArray, int]) -> ObjArray:
    """n strings made of literal parts and zero-padded integer fields (values, width)."""
    blocks: list[npt.NDArray[np.uint8]] = []
    for part in parts:
        if isinstance(part, str):
            blocks.append(
                np.broadcast_to(np.frombuffer(part.encode("ascii"), dtype=np.uint8), (n, len(part)))
            )
        else:
            blocks.append(digit_matrix(part[0], part[1]))
    return text_rows(np.hstack(blocks) if blocks else np.empty((n, 0), dtype=np.uint8))


def day_number(d: date) -> int:
    return (d - EPOCH).days


def date_column(days: IntArray, valid: BoolArray | None = None) -> npt.NDArray[np.datetime64]:
    """Day numbers as a datetime64[s] column (NaT where not `valid`); CSV prints YYYY-MM-DD."""
    out = days.astype("datetime64[D]").astype("datetime64[s]")
    if valid is not None:
        out[~valid] = np.datetime64("NaT")
    return out


def ascii_letters(names: ObjArray) -> ObjArray:
    """Each name lower-cased, letters a-z only (the local part of an e-mail address)."""
    lowered = pd.Series(names, dtype=str).str.lower().str.replace(r"[^a-z]", "", regex=True)
    return lowered.to_numpy(dtype=object)


def nullable(mask: BoolArray, values: npt.ArrayLike) -> ObjArray:
    """`values` where `mask` holds and None (SQL NULL) elsewhere, as an object array
    (np.where with a None branch would make numpy guess a dtype for None)."""
    out = np.full(mask.shape, None, dtype=object)
    out[mask] = np.broadcast_to(np.asarray(values, dtype=object), mask.shape)[mask]
    return out


def zfill(values: IntArray, width: int) -> ObjArray:
    """Zero-padded decimal text (values must fit in `width` digits); object arrays of str
    concatenate element-wise with `+`."""
    return compose(len(values), (values, width))


def choose(
    rng: np.random.Generator, options: Sequence[Any], p: Sequence[float] | FloatArray, n: int
) -> IntArray:
    """n indexes into `options`, drawn with probabilities `p` (normalised)."""
    probs = np.asarray(p, dtype=np.float64)
    return rng.choice(len(options), size=n, p=probs / probs.sum()).astype(np.int64)


def cdf_table(rows: Sequence[Sequence[float]]) -> FloatArray:
    """Rows of weights (ragged) as a padded matrix of cumulative probabilities."""
    width = max(len(r) for r in rows)
    out = np.ones((len(rows), width))
    for i, r in enumerate(rows):
        w = np.asarray(r, dtype=np.float64)
        out[i, : len(w)] = np.cumsum(w / w.sum())
        out[i, len(w) - 1 :] = 1.0
    return out


def draw_rows(rng: np.random.Generator, cdf: FloatArray, row: IntArray) -> IntArray:
    """For each element, an index drawn from the distribution of cdf[row]."""
    u = rng.random(len(row))
    return (u[:, None] >= cdf[row]).sum(axis=1).astype(np.int64)


def round_to(x: FloatArray, step: float) -> FloatArray:
    return np.round(x / step) * step


def to_cents(rupiah: FloatArray) -> IntArray:
    """A drawn rupiah amount (already rounded to the cent or coarser) as integer cents:
    amounts leave the random draws here, and are exact from then on."""
    return np.round(np.asarray(rupiah, dtype=np.float64) * 100).astype(np.int64)


def optional_cents(rupiah: pd.Series) -> pd.Series:
    """Whole-rupiah amounts with gaps (None: no limit) as nullable integer cents."""
    return rupiah.astype("Int64") * 100


def segment_index(counts: IntArray) -> tuple[IntArray, IntArray]:
    """For segments of the given lengths: each element's segment and its rank within it."""
    total = int(counts.sum())
    seg = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    rank = np.arange(total) - starts[seg]
    return seg.astype(np.int64), rank.astype(np.int64)


def ymd(days: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    d = pd.DatetimeIndex(days.astype("datetime64[D]"))
    return (
        np.asarray(d.year, dtype=np.int64),
        np.asarray(d.month, dtype=np.int64),
        np.asarray(d.day, dtype=np.int64),
    )


# ---------------------------------------------------------------------------------------
# The result
# ---------------------------------------------------------------------------------------


# DECIMAL(15,2) columns, held in the frames as integer hundredths (cents: money is never a
# float here); the loader writes them as exact decimal text.
CENTS_COLUMNS: dict[str, tuple[str, ...]] = {
    "policy_service.policy": ("premium_amount",),
    "provider_service.provider_fee_schedule": ("allowed_amount",),
    "benefit_service.plan_benefit": (
        "annual_limit",
        "incident_limit",
        "lifetime_limit",
        "deductible_amount",
        "copay_amount",
    ),
    "benefit_service.benefit_limitation": ("limit_value",),
    "benefit_service.cost_sharing": ("oop_max",),
    "benefit_service.accumulator": ("amount_used", "deductible_used", "oop_used"),
    "benefit_service.accumulator_opening": ("amount_used", "deductible_used", "oop_used"),
    "authorization_service.authorization": ("requested_amount",),
    "claims_service.claim": (
        "total_charged_amount",
        "total_approved_amount",
        "member_responsibility",
    ),
    "claims_service.claim_item": (
        "charged_amount",
        "allowed_amount",
        "deductible_amount",
        "copay_amount",
        "coinsurance_amount",
        "approved_amount",
        "member_responsibility",
    ),
}


@dataclass(frozen=True)
class DemoData:
    """Frames keyed "schema.table" (columns named as in the DDL), in a load order that
    respects each schema's foreign keys. Columns of CENTS_COLUMNS hold integer cents."""

    as_of: date
    seed: int
    tables: dict[str, pd.DataFrame]

    def row_counts(self) -> dict[str, int]:
        return {name: len(frame) for name, frame in self.tables.items()}

    def schema_tables(self, schema: str) -> list[tuple[str, pd.DataFrame]]:
        prefix = schema + "."
        return [(k[len(prefix) :], v) for k, v in self.tables.items() if k.startswith(prefix)]

    @staticmethod
    def cents_columns(name: str) -> tuple[str, ...]:
        """The columns of table `name` ("schema.table") that hold integer cents."""
        return CENTS_COLUMNS.get(name, ())


@dataclass
class _Pools:
    """Faker-made pools of Indonesian names, streets and companies, drawn from by index."""

    first_m: ObjArray
    first_f: ObjArray
    last_m: ObjArray
    last_f: ObjArray
    streets: ObjArray
    villages: ObjArray
    companies: ObjArray


def _faker_pools(seed: int, size: int = 3000) -> _Pools:
    fake = Faker("id_ID")
    fake.seed_instance(seed)

    def pool(fn: Callable[[], str], n: int = size) -> ObjArray:
        values = sorted({fn() for _ in range(n)})
        return np.array(values, dtype=object)

    def village() -> str:
        return re.sub(r"^(Jl\.|Jalan|Gg\.|Gang)\s+", "", fake.street_name())

    return _Pools(
        first_m=pool(fake.first_name_male),
        first_f=pool(fake.first_name_female),
        last_m=pool(fake.last_name_male),
        last_f=pool(fake.last_name_female),
        streets=pool(fake.street_address),
        villages=pool(village),
        companies=pool(fake.company, 1000),
    )


# ---------------------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------------------


def default_as_of() -> date:
    return datetime.now(ZoneInfo("Asia/Jakarta")).date()


def generate(
    members: int,
    claims: int,
    seed: int,
    *,
    as_of: date | None = None,
    progress: Progress | None = None,
) -> DemoData:
    """All demo tables for `members` members and `claims` claims (1-5 lines each)."""
    if members < 1 or claims < 0:
        raise ValueError("members must be >= 1 and claims >= 0")
    as_of = as_of or default_as_of()
    steps = (
        "pools",
        "plans",
        "providers",
        "members",
        "coverage",
        "claims",
        "authorizations",
        "pended",
        "accumulators",
    )
    streams = dict(
        zip(
            steps,
            (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(len(steps))),
            strict=True,
        )
    )
    done = 0

    def step() -> None:
        nonlocal done
        done += 1
        if progress:
            progress("generate", done, len(steps))

    if progress:
        progress("generate", 0, len(steps))
    ctx = _Context(as_of=as_of, pools=_faker_pools(seed))
    step()
    tables: dict[str, pd.DataFrame] = {}
    tables.update(_plans(ctx, streams["plans"]))
    step()
    tables.update(_providers(ctx, streams["providers"], members))
    step()
    tables.update(_members(ctx, streams["members"], members))
    step()
    tables.update(_coverage(ctx, streams["coverage"]))
    step()
    claim_tables = _claims(ctx, streams["claims"], claims)
    step()
    auth = _authorizations(ctx, streams["authorizations"])
    step()
    claim_tables.update(_pended_claims(ctx, streams["pended"], claim_tables))
    step()
    acc = _accumulators(ctx, streams["accumulators"])
    step()
    tables.update(acc)
    tables.update(auth)
    tables.update(claim_tables)
    order = (
        "policy_service.plan",
        "policy_service.policy",
        "member_service.member",
        "member_service.member_coverage",
        "member_service.member_dependent",
        "member_service.member_card",
        "provider_service.provider",
        "provider_service.provider_facility",
        "provider_service.provider_specialty",
        "provider_service.provider_contract",
        "provider_service.provider_fee_schedule",
        "benefit_service.plan_benefit",
        "benefit_service.benefit_limitation",
        "benefit_service.benefit_exclusion",
        "benefit_service.cost_sharing",
        "benefit_service.accumulator",
        "benefit_service.accumulator_opening",
        "authorization_service.authorization",
        "claims_service.claim",
        "claims_service.claim_item",
        "claims_service.claim_status_history",
        "claims_service.claim_note",
        "claims_service.claim_number_counter",
    )
    return DemoData(as_of=as_of, seed=seed, tables={k: tables[k] for k in order})


@dataclass
class _Context:
    """What later steps need from earlier ones (arrays indexed by member/provider/plan)."""

    as_of: date
    pools: _Pools
    plan_ids: ObjArray | None = None
    designs: list[dict[str, dict[str, Any]]] | None = None
    # providers
    prov_id: ObjArray | None = None
    prov_type: IntArray | None = None
    prov_price: FloatArray | None = None
    prov_in_network: BoolArray | None = None
    prov_weight: FloatArray | None = None
    prov_name: ObjArray | None = None
    doctor_names: ObjArray | None = None
    # members
    m_id: ObjArray | None = None
    m_dob: IntArray | None = None
    m_female: BoolArray | None = None
    m_enroll: IntArray | None = None
    m_term: IntArray | None = None  # NO_END when not terminated
    m_family: IntArray | None = None
    m_role: IntArray | None = None  # 0 subscriber, 1 spouse, 2 child
    m_weight: FloatArray | None = None
    f_scenario: IntArray | None = None
    f_plan1: IntArray | None = None
    f_plan2: IntArray | None = None
    f_change: IntArray | None = None
    f_enroll: IntArray | None = None
    f_corporate: BoolArray | None = None
    f_size: IntArray | None = None
    f_name: ObjArray | None = None
    # coverage (per member: first and optional second coverage)
    c1_policy: ObjArray | None = None
    c2_policy: ObjArray | None = None
    c2_eff: IntArray | None = None  # NO_END when there is no second coverage
    m_plan_now: IntArray | None = None  # plan of the member's latest coverage
    m_covered: BoolArray | None = None  # has any non-cancelled coverage
    policy_ids: ObjArray | None = None
    # claims, for authorizations; claims an earlier batch pended (claim_id, benefit, batch_s)
    auth_source: pd.DataFrame | None = None
    pended: pd.DataFrame | None = None
    # lines of well-formed claims of known members: member, benefit (indexes), year, quantity
    usage: pd.DataFrame | None = None

    @property
    def today(self) -> int:
        return day_number(self.as_of)


# --- plans, benefits ---------------------------------------------------------------------


def _plans(ctx: _Context, rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    today = ctx.today
    legacy_end = today - LEGACY_END_DAYS_AGO
    plan_ids = uuid_strings(rng, len(PLANS))
    ctx.plan_ids = plan_ids
    ctx.designs = [plan_design(i) for i in range(len(PLANS))]
    plan = pd.DataFrame(
        {
            "id": plan_ids,
            "plan_code": [p.code for p in PLANS],
            "plan_name": [p.name for p in PLANS],
            "plan_type": [p.plan_type for p in PLANS],
            "tier": [p.tier for p in PLANS],
            "status": [p.status for p in PLANS],
            "effective_date": date_column(np.array([day_number(p.effective) for p in PLANS])),
            "expiration_date": date_column(
                np.array([legacy_end if i == P_LEGACY else 0 for i in range(len(PLANS))]),
                np.array([i == P_LEGACY for i in range(len(PLANS))]),
            ),
        }
    )

    pb_rows: list[dict[str, Any]] = []
    lim_rows: list[dict[str, Any]] = []
    for pi, spec in enumerate(PLANS):
        design = ctx.designs[pi]
        for code, name, category, limited_by in BENEFITS:
            d = design[code]
            eff = day_number(spec.effective)
            if d["starts_days_ago"] is not None:
                eff = today - d["starts_days_ago"]
            exp: int | None = None
            if d["expires_days_ago"] is not None:
                exp = today - d["expires_days_ago"]
            if pi == P_LEGACY:
                exp = legacy_end
            pb_id = uuid_strings(rng, 1)[0]
            pb_rows.append(
                {
                    "id": pb_id,
                    "plan_id": plan_ids[pi],
                    "benefit_code": code,
                    "benefit_name": name,
                    "benefit_category": category,
                    "coverage_type": d["coverage_type"],
                    "limitation_type": limited_by,
                    "annual_limit": d["annual"],
                    "incident_limit": d["incident"],
                    "lifetime_limit": d["lifetime"],
                    "day_limit": d["day"],
                    "visit_limit": d["visit"],
                    "deductible_amount": d["deductible"],
                    "coinsurance_percentage": d["coins"],
                    "copay_amount": d["copay"],
                    "requires_preauth": d["preauth"],
                    "waiting_period_days": d["waiting"],
                    "age_limit_min": d["age_min"],
                    "age_limit_max": d["age_max"],
                    "in_network_coverage": d["in"],
                    "out_network_coverage": d["out"],
                    "is_active": d["active"],
                    "effective_date": eff,
                    "expiration_date": exp,
                }
            )
            for kind, key, period in (
                ("amount", "annual", "per_year"),
                ("amount", "incident", "per_incident"),
                ("amount", "lifetime", "lifetime"),
                ("days", "day", "per_year"),
                ("visits", "visit", "per_year"),
            ):
                if d[key] is not None:
                    lim_rows.append(
                        {
                            "id": uuid_strings(rng, 1)[0],
                            "plan_benefit_id": pb_id,
                            "limitation_type": kind,
                            "limit_value": d[key],
                            "period": period,
                            "description": f"{name}: batas {kind} {period.replace('_', ' ')}",
                        }
                    )
    pb = pd.DataFrame(pb_rows)
    for col in (
        "annual_limit",
        "incident_limit",
        "lifetime_limit",
        "deductible_amount",
        "copay_amount",
    ):
        pb[col] = optional_cents(pb[col])
    for col in (
        "coinsurance_percentage",
        "in_network_coverage",
        "out_network_coverage",
        "day_limit",
        "visit_limit",
        "waiting_period_days",
        "age_limit_min",
        "age_limit_max",
    ):
        pb[col] = pb[col].astype("Int64")
    pb["effective_date"] = date_column(pb["effective_date"].to_numpy(np.int64))
    exp_days = pb["expiration_date"]
    pb["expiration_date"] = date_column(
        exp_days.fillna(0).to_numpy(np.int64), exp_days.notna().to_numpy()
    )
    limitation = pd.DataFrame(lim_rows)
    # numeric(15,2) in hundredths, like money: a limit of 12 visits is 1200.
    limitation["limit_value"] = limitation["limit_value"].astype(np.int64) * 100

    exc_rows = []
    for pi, benefit, prefix, proc, desc, expired_days_ago in EXCLUSIONS:
        eff = day_number(PLANS[pi].effective)
        exc_rows.append(
            {
                "id": uuid_strings(rng, 1)[0],
                "plan_id": plan_ids[pi],
                "benefit_code": benefit,
                "diagnosis_code_prefix": prefix,
                "procedure_code": proc,
                "description": desc,
                "effective_date": eff,
                "expiration_date": None if expired_days_ago is None else today - expired_days_ago,
            }
        )
    exclusion = pd.DataFrame(exc_rows)
    exclusion["effective_date"] = date_column(exclusion["effective_date"].to_numpy(np.int64))
    ex = exclusion["expiration_date"]
    exclusion["expiration_date"] = date_column(
        ex.fillna(0).to_numpy(np.int64), ex.notna().to_numpy()
    )

    # Cost sharing: one row per plan; gold's oop_max was raised at the start of this year
    # (an expired row before it); the basic plan has no out-of-pocket maximum.
    year_start = day_number(date(ctx.as_of.year, 1, 1))
    cs_rows = []
    for pi, spec in enumerate(PLANS):
        eff = day_number(spec.effective)
        if pi == P_GOLD:
            cs_rows.append(
                {"plan_id": plan_ids[pi], "oop_max": 8_000_000, "eff": eff, "exp": year_start - 1}
            )
            eff = year_start
        cs_rows.append(
            {
                "plan_id": plan_ids[pi],
                "oop_max": spec.oop_max,
                "eff": eff,
                "exp": legacy_end if pi == P_LEGACY else None,
            }
        )
    cs = pd.DataFrame(cs_rows)
    cost_sharing = pd.DataFrame(
        {
            "id": uuid_strings(rng, len(cs)),
            "plan_id": cs["plan_id"],
            "oop_max": optional_cents(cs["oop_max"]),
            "currency": "IDR",
            "effective_date": date_column(cs["eff"].to_numpy(np.int64)),
            "expiration_date": date_column(
                cs["exp"].fillna(0).to_numpy(np.int64), cs["exp"].notna().to_numpy()
            ),
        }
    )
    return {
        "policy_service.plan": plan,
        "benefit_service.plan_benefit": pb,
        "benefit_service.benefit_limitation": limitation,
        "benefit_service.benefit_exclusion": exclusion,
        "benefit_service.cost_sharing": cost_sharing,
    }


# --- providers ---------------------------------------------------------------------------


def _providers(ctx: _Context, rng: np.random.Generator, members: int) -> dict[str, pd.DataFrame]:
    today = ctx.today
    ws = today - WINDOW_DAYS
    pools = ctx.pools
    n = max(80, members // 60)
    ptype = choose(rng, PROVIDER_TYPES, PROVIDER_TYPE_SHARE, n)
    ptype[: 2 * len(PROVIDER_TYPES)] = np.tile(np.arange(len(PROVIDER_TYPES)), 2)  # >= 2 each
    ptype = rng.permutation(ptype)
    ids = uuid_strings(rng, n)
    city_w = np.array([c[5] for c in CITIES], dtype=np.float64)
    city = choose(rng, CITIES, city_w, n)
    city_name = np.array([c[0] for c in CITIES], dtype=object)[city]

    words = np.array(NAME_WORDS, dtype=object)
    i1 = rng.integers(0, len(words), n)
    w1 = words[i1]
    w2 = words[(i1 + rng.integers(1, len(words), n)) % len(words)]  # never the same word
    female = rng.random(n) < 0.5
    doc_first = np.where(
        female,
        pools.first_f[rng.integers(0, len(pools.first_f), n)],
        pools.first_m[rng.integers(0, len(pools.first_m), n)],
    )
    doc_last = np.where(
        female,
        pools.last_f[rng.integers(0, len(pools.last_f), n)],
        pools.last_m[rng.integers(0, len(pools.last_m), n)],
    )
    spec_idx = rng.integers(0, len(SPECIALTIES), n)
    spec_code = np.array([s[0] for s in SPECIALTIES], dtype=object)[spec_idx]
    village = pools.villages[rng.integers(0, len(pools.villages), n)]
    hosp_prefix = np.array(["RS", "RSU", "RSUD", "RSIA", "RS Islam", "RS Umum"], dtype=object)[
        rng.integers(0, 6, n)
    ]
    clinic_prefix = np.array(["Klinik Pratama", "Klinik Utama", "Klinik"], dtype=object)[
        rng.integers(0, 3, n)
    ]
    names = []
    for i in range(n):  # ~1,700 providers: a plain loop keeps the naming readable
        t = PROVIDER_TYPES[ptype[i]]
        if t == "hospital":
            name = (
                f"RSUD {city_name[i]}"
                if hosp_prefix[i] == "RSUD"
                else f"{hosp_prefix[i]} {w1[i]} {w2[i]}"
            )
        elif t == "clinic":
            name = f"{clinic_prefix[i]} {w1[i]} {w2[i]}"
        elif t == "puskesmas":
            name = f"Puskesmas {village[i]}"
        elif t == "laboratory":
            name = f"Laboratorium Klinik {w1[i]} {w2[i]}"
        elif t == "pharmacy":
            name = f"Apotek {w1[i]} {w2[i]}"
        elif t == "specialist":
            name = f"Praktik dr. {doc_first[i]} {doc_last[i]}, {spec_code[i]}"
        elif t == "dentist":
            name = f"Praktik drg. {doc_first[i]} {doc_last[i]}"
        else:
            name = f"Optik {w1[i]} {city_name[i]}"
        names.append(name)
    name_arr = np.array(names, dtype=object)
    type_code = np.array(PROVIDER_TYPE_CODE, dtype=object)[ptype]
    city_code = np.array([str(c[2]) for c in CITIES], dtype=object)[city]
    provider_code = type_code + "-" + city_code + "-" + zfill(np.arange(1, n + 1), 5)
    npwp = rng.integers(0, 10, (n, 15))
    npwp_s = ["{}{}.{}{}{}.{}{}{}.{}-{}{}{}.{}{}{}".format(*row) for row in npwp.tolist()]
    area = np.array([c[4] for c in CITIES], dtype=object)[city]
    phone = "+62" + area + zfill(rng.integers(0, 10**7, n), 7)
    slug = pd.Series(w1 + w2).str.lower().to_numpy()
    has_email = np.isin(ptype, [0, 1, 3, 7])
    email = np.where(has_email, "info@" + slug + ".co.id", None)
    status = np.array(["active", "inactive", "suspended", "terminated"], dtype=object)[
        choose(rng, range(4), (0.92, 0.03, 0.02, 0.03), n)
    ]
    provider = pd.DataFrame(
        {
            "id": ids,
            "provider_code": provider_code,
            "name": name_arr,
            "provider_type": np.array(PROVIDER_TYPES, dtype=object)[ptype],
            "tax_id": npwp_s,
            "phone": phone,
            "email": email,
            "status": status,
        }
    )

    # Facilities: one per provider, a second building for some hospitals.
    second = (ptype == 0) & (rng.random(n) < 0.3)
    f_prov = np.concatenate([np.arange(n), np.flatnonzero(second)])
    f_city = np.concatenate([city, choose(rng, CITIES, city_w, int(second.sum()))])
    nf = len(f_prov)
    is_second = np.arange(nf) >= n
    fac_name = np.where(
        is_second,
        name_arr[f_prov]
        + " - Gedung "
        + np.array(["B", "C", "Cabang"], dtype=object)[rng.integers(0, 3, nf)],
        name_arr[f_prov],
    )
    beds = np.select(
        [ptype[f_prov] == 0, ptype[f_prov] == 1, ptype[f_prov] == 2],
        [rng.integers(50, 800, nf), rng.integers(0, 20, nf), rng.integers(0, 10, nf)],
        -1,
    )
    postal = np.array([c[3] for c in CITIES], dtype=object)[f_city] + zfill(
        rng.integers(100, 999, nf), 3
    )
    facility = pd.DataFrame(
        {
            "id": uuid_strings(rng, nf),
            "provider_id": ids[f_prov],
            "facility_name": fac_name,
            "address_line1": pools.streets[rng.integers(0, len(pools.streets), nf)],
            "city": np.array([c[0] for c in CITIES], dtype=object)[f_city],
            "state_province": np.array([c[1] for c in CITIES], dtype=object)[f_city],
            "postal_code": postal,
            "bed_count": pd.array(np.where(beds >= 0, beds, 0), dtype="Int64"),
        }
    )
    facility.loc[beds < 0, "bed_count"] = pd.NA

    # Specialties.
    sp_prov: list[int] = []
    sp_idx: list[int] = []
    sp_primary: list[bool] = []
    extra = {
        "clinic": ("UMUM", "Dokter Umum"),
        "puskesmas": ("UMUM", "Dokter Umum"),
        "laboratory": ("SpPK", "Patologi Klinik"),
        "pharmacy": ("FARM", "Farmasi"),
        "dentist": ("GIGI", "Kedokteran Gigi"),
        "optical": ("OPTO", "Optometri"),
    }
    extra_rows: list[tuple[int, str, str, bool]] = []
    k_hosp = rng.integers(4, 11, n)
    for i in range(n):
        t = PROVIDER_TYPES[ptype[i]]
        if t == "hospital":
            chosen = rng.choice(len(SPECIALTIES), size=int(k_hosp[i]), replace=False)
            for j, s in enumerate(sorted(chosen.tolist())):
                sp_prov.append(i)
                sp_idx.append(s)
                sp_primary.append(j == 0)
        elif t == "specialist":
            sp_prov.append(i)
            sp_idx.append(int(spec_idx[i]))
            sp_primary.append(True)
        else:
            code, sname = extra[t]
            extra_rows.append((i, code, sname, True))
            if t == "clinic" and rng.random() < 0.4:
                extra_rows.append((i, "GIGI", "Kedokteran Gigi", False))
    sp = pd.DataFrame(
        {
            "provider_id": ids[np.array(sp_prov + [r[0] for r in extra_rows], dtype=np.int64)],
            "specialty_code": [SPECIALTIES[s][0] for s in sp_idx] + [r[1] for r in extra_rows],
            "specialty_name": [SPECIALTIES[s][1] for s in sp_idx] + [r[2] for r in extra_rows],
            "is_primary": sp_primary + [r[3] for r in extra_rows],
        }
    )
    sp.insert(0, "id", uuid_strings(rng, len(sp)))

    # Contracts: 0 in network (open), 1 in network terminated in the window, 2 terminated
    # then renewed after a gap, 3 in network with an end date in the window (status still
    # active), 4 out of network, 5 no contract at all.
    scen = choose(rng, range(6), (0.70, 0.03, 0.03, 0.04, 0.08, 0.12), n)
    start = today - rng.integers(3 * 365, 9 * 365, n)
    end = ws + rng.integers(30, WINDOW_DAYS - 30, n)
    c_prov: list[IntArray] = []
    c_net: list[ObjArray] = []
    c_eff: list[IntArray] = []
    c_term: list[IntArray] = []
    c_status: list[ObjArray] = []

    def add(mask: BoolArray, net: str, eff: IntArray, term: IntArray, status: str) -> None:
        idx = np.flatnonzero(mask)
        c_prov.append(idx)
        c_net.append(np.full(len(idx), net, dtype=object))
        c_eff.append(eff[idx])
        c_term.append(term[idx])
        c_status.append(np.full(len(idx), status, dtype=object))

    open_end = np.full(n, NO_END, dtype=np.int64)
    add(scen == 0, "in_network", start, open_end, "active")
    add((scen == 1) | (scen == 2), "in_network", start, end, "terminated")
    add(scen == 2, "in_network", end + 90, open_end, "active")
    add(scen == 3, "in_network", start, end, "active")
    add(scen == 4, "out_of_network", start, open_end, "active")
    cp = np.concatenate(c_prov)
    cterm = np.concatenate(c_term)
    ceff = np.concatenate(c_eff)
    year_of = ymd(ceff)[0]
    contract = pd.DataFrame(
        {
            "id": uuid_strings(rng, len(cp)),
            "provider_id": ids[cp],
            "contract_number": compose(
                len(cp), "PKS/", (year_of, 4), "/", (np.arange(1, len(cp) + 1), 6)
            ),
            "network_status": np.concatenate(c_net),
            "effective_date": date_column(ceff),
            "termination_date": date_column(cterm, cterm < NO_END),
            "status": np.concatenate(c_status),
        }
    )
    in_network = np.isin(scen, [0, 1, 2, 3])

    # Price level of each provider (fee schedules and charges follow it).
    type_price = np.array([1.15, 0.85, 0.5, 0.9, 1.0, 1.1, 1.0, 1.0])[ptype]
    hosp_class = np.where(ptype == 0, np.array([1.25, 1.1, 0.95, 0.8])[rng.integers(0, 4, n)], 1.0)
    price = type_price * hosp_class * rng.uniform(0.9, 1.1, n)
    price = np.where(in_network, price, price * 1.2)

    # Fee schedules: in-network providers (and a third of the out-of-network ones, unused
    # by A2 but realistic), for ~90% of the procedures their type offers; 30% had a price
    # revision in the window (old row expired the day before the new one).
    offers = np.zeros((len(PROVIDER_TYPES), len(PROCEDURES)), dtype=bool)
    for ti, t in enumerate(PROVIDER_TYPES):
        for pj, p in enumerate(PROCEDURES):
            offers[ti, pj] = p[2] in PROVIDER_OFFERS[t] or p[0] in PROVIDER_OFFERS[t]
    has_fees = in_network | ((scen == 4) & (rng.random(n) < 0.33))
    grid = offers[ptype] & has_fees[:, None] & (rng.random((n, len(PROCEDURES))) < 0.9)
    fp, fj = np.nonzero(grid)
    nfs = len(fp)
    allowed = np.maximum(
        round_to(PROC_PRICE[fj] * price[fp] * rng.uniform(0.9, 1.0, nfs), 1000), 1000
    )
    revised = rng.random(nfs) < 0.3
    rev_day = ws + rng.integers(60, WINDOW_DAYS - 30, nfs)
    eff0 = start[fp]
    fee_eff = np.concatenate([eff0, rev_day[revised]])
    fee_exp = np.concatenate(
        [np.where(revised, rev_day - 1, NO_END), np.full(int(revised.sum()), NO_END)]
    )
    fee_amt = np.concatenate(
        [allowed, round_to(allowed[revised] * rng.uniform(1.05, 1.12, int(revised.sum())), 1000)]
    )
    fee_prov = np.concatenate([fp, fp[revised]])
    fee_proc = np.concatenate([fj, fj[revised]])
    fee = pd.DataFrame(
        {
            "id": uuid_strings(rng, len(fee_prov)),
            "provider_id": ids[fee_prov],
            "procedure_code": PROC_CODES[fee_proc],
            "allowed_amount": to_cents(fee_amt),
            "effective_date": date_column(fee_eff),
            "expiration_date": date_column(fee_exp, fee_exp < NO_END),
        }
    )

    ctx.prov_id = ids
    ctx.prov_type = ptype
    ctx.prov_price = price
    ctx.prov_in_network = in_network
    ctx.prov_name = name_arr
    weight = 1.0 / (1 + rng.permutation(n)) ** 0.6  # a few large providers
    ctx.prov_weight = (weight * np.where(status == "active", 1.0, 0.2)).astype(np.float64)
    ctx.doctor_names = np.array(
        [f"dr. {a} {b}" for a, b in zip(doc_first[:50], doc_last[:50], strict=True)], dtype=object
    )
    return {
        "provider_service.provider": provider,
        "provider_service.provider_facility": facility,
        "provider_service.provider_specialty": sp,
        "provider_service.provider_contract": contract,
        "provider_service.provider_fee_schedule": fee,
    }


# --- members -----------------------------------------------------------------------------

# Coverage scenarios of a family (see _coverage).
(
    S_NORMAL,
    S_CHANGE,
    S_OVERLAP,
    S_GAP,
    S_LATE,
    S_FUTURE,
    S_CANCELLED,
    S_CANCEL_THEN,
    S_LAPSED,
    S_LEGACY,
    S_LEGACY_STUCK,
) = range(11)
SCENARIO_P = (0.785, 0.08, 0.01, 0.02, 0.03, 0.01, 0.01, 0.02, 0.02, 0.012, 0.003)


def _members(ctx: _Context, rng: np.random.Generator, members: int) -> dict[str, pd.DataFrame]:
    today = ctx.today
    ws = today - WINDOW_DAYS
    pools = ctx.pools
    nf = members  # an upper bound on families; trimmed below
    sub_age = np.clip(rng.normal(40, 11, nf), 21, 70)
    sub_female = rng.random(nf) < 0.38
    has_spouse = (sub_age >= 24) & (rng.random(nf) < 0.65)
    n_children = np.where(sub_age >= 25, np.clip(rng.poisson(1.3, nf), 0, 4), 0)
    size = 1 + has_spouse + n_children
    n_fam = int(np.searchsorted(np.cumsum(size), members) + 1)
    n_fam = min(n_fam, nf)
    sub_age, sub_female, has_spouse = sub_age[:n_fam], sub_female[:n_fam], has_spouse[:n_fam]
    n_children, size = n_children[:n_fam], size[:n_fam].copy()
    fam, pos = segment_index(size)
    fam, pos = fam[:members], pos[:members]
    size = np.bincount(fam, minlength=n_fam)
    n = len(fam)
    role = np.where(pos == 0, 0, np.where(has_spouse[fam] & (pos == 1), 1, 2))

    # Ages and sexes.
    spouse_age = np.clip(sub_age + rng.normal(-2, 4, n_fam), 19, 80)
    child_max = np.clip(sub_age - 20, 0.5, 25)
    age = np.select(
        [role == 0, role == 1], [sub_age[fam], spouse_age[fam]], rng.random(n) * child_max[fam]
    )
    female = np.select(
        [role == 0, role == 1], [sub_female[fam], ~sub_female[fam]], rng.random(n) < 0.49
    )
    dob = today - np.floor(age * 365.25).astype(np.int64) - rng.integers(1, 365, n)
    dob = np.minimum(dob, today - 1)

    # Family timeline: enrollment, scenario, termination.
    recent = rng.random(n_fam) < 0.25
    f_enroll = today - np.where(
        recent, rng.integers(20, 600, n_fam), rng.integers(600, 3650, n_fam)
    )
    scenario = choose(rng, range(len(SCENARIO_P)), SCENARIO_P, n_fam)
    if n_fam >= 4 * len(SCENARIO_P):  # every scenario at least once, even in small data
        scenario[1 : len(SCENARIO_P)] = np.arange(1, len(SCENARIO_P))
    old = (scenario == S_LEGACY) | (scenario == S_LEGACY_STUCK)
    f_enroll = np.where(old, today - rng.integers(LEGACY_END_DAYS_AGO + 400, 4000, n_fam), f_enroll)
    f_enroll = np.where(scenario == S_FUTURE, today - rng.integers(10, 60, n_fam), f_enroll)
    enroll = np.minimum(np.maximum(f_enroll[fam], dob + rng.integers(1, 30, n)), today)
    terminated_f = (scenario == S_NORMAL) & (rng.random(n_fam) < 0.075)
    t_lo = np.maximum(f_enroll + 30, ws - 200)
    terminated_f &= t_lo < today - 1
    f_term = np.where(
        terminated_f,
        t_lo + (rng.random(n_fam) * np.maximum(today - 1 - t_lo, 1)).astype(np.int64),
        NO_END,
    )
    term = np.where(terminated_f[fam], np.maximum(f_term[fam], enroll), NO_END)
    suspended = (~terminated_f[fam]) & (rng.random(n) < 0.02)
    status = np.where(term < NO_END, "terminated", np.where(suspended, "suspended", "active"))

    # Plans: corporate families on the group plan, others by family size.
    corporate = rng.random(n_fam) < 0.35
    single_plan = choose(rng, range(4), (0.45, 0.20, 0.15, 0.20), n_fam)
    multi_plan = choose(rng, range(4), (0.20, 0.45, 0.30, 0.05), n_fam)
    plan1 = np.where(corporate, P_CORP, np.where(size == 1, single_plan, multi_plan))
    plan1 = np.where(old, P_LEGACY, plan1)
    plan2 = (plan1 + rng.integers(1, 5, n_fam)) % 5  # a different non-legacy plan
    plan2 = np.where(old, np.where(rng.random(n_fam) < 0.5, P_SILVER, P_GOLD), plan2)

    # Names.
    def pick(pool: ObjArray, k: int) -> ObjArray:
        return pool[rng.integers(0, len(pool), k)]

    first = np.where(female, pick(pools.first_f, n), pick(pools.first_m, n))
    last = np.where(female, pick(pools.last_f, n), pick(pools.last_m, n))
    sub_index = np.flatnonzero(role == 0)
    sub_of_family = np.full(n_fam, -1, dtype=np.int64)
    sub_of_family[fam[sub_index]] = sub_index
    inherit = (role == 2) & (rng.random(n) < 0.6) & ~sub_female[fam]
    last = np.where(inherit, last[sub_of_family[fam]], last)
    middle = nullable(
        rng.random(n) < 0.2, np.where(female, pick(pools.first_f, n), pick(pools.first_m, n))
    )

    # Addresses per family.
    city_w = np.array([c[5] for c in CITIES], dtype=np.float64)
    f_city = choose(rng, CITIES, city_w, n_fam)
    f_street = pick(pools.streets, n_fam)
    f_rt = (
        "RT "
        + zfill(rng.integers(1, 20, n_fam), 3)
        + "/RW "
        + zfill(rng.integers(1, 15, n_fam), 3)
        + ", Kel. "
        + pick(pools.villages, n_fam)
    )
    f_postal = np.array([c[3] for c in CITIES], dtype=object)[f_city] + zfill(
        rng.integers(100, 999, n_fam), 3
    )
    city = f_city[fam]

    # NIK: regency (4) + district (2), birth date DDMMYY (+40 on the day for women),
    # serial (4) numbering the people of the same district and birth date.
    y, mth, d = ymd(dob)
    region = np.array([c[2] for c in CITIES])[city] * 100 + rng.integers(1, 25, n)
    ddmmyy = (d + np.where(female, 40, 0)) * 10_000 + mth * 100 + (y % 100)
    key = region * 1_000_000 + ddmmyy
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    first_of = np.searchsorted(sorted_key, sorted_key, side="left")
    serial = np.empty(n, dtype=np.int64)
    serial[order] = np.arange(n) - first_of + 1
    nik = region * 10**10 + ddmmyy * 10**4 + serial
    national_id = compose(n, (nik, 16))

    adult = age >= 17
    ey = ymd(enroll)[0]
    member_number = compose(n, "ASK", (ey, 4), (np.arange(1, n + 1), 7))
    local = (
        ascii_letters(first)
        + "."
        + ascii_letters(last)
        + np.where(rng.random(n) < 0.6, rng.integers(1, 99, n).astype(str), "")
    )
    email = nullable(
        adult & (rng.random(n) < 0.8), local + "@" + pick(np.array(EMAIL_DOMAINS, dtype=object), n)
    )
    mobile_ok = np.where(adult, rng.random(n) < 0.95, (age >= 13) & (rng.random(n) < 0.5))
    mobile = nullable(
        mobile_ok,
        "+62"
        + pick(np.array(MOBILE_PREFIXES, dtype=object), n)
        + zfill(rng.integers(0, 10**8, n), 8),
    )
    area = np.array([c[4] for c in CITIES], dtype=object)[city]
    phone = nullable(rng.random(n) < 0.25, "+62" + area + zfill(rng.integers(0, 10**7, n), 7))
    passport = nullable(
        adult & (rng.random(n) < 0.03),
        pick(np.array(["A", "B", "C", "X"], dtype=object), n) + zfill(rng.integers(0, 10**7, n), 7),
    )

    ids = uuid_strings(rng, n)
    member = pd.DataFrame(
        {
            "id": ids,
            "member_number": member_number,
            "first_name": first,
            "last_name": last,
            "middle_name": middle,
            "date_of_birth": date_column(dob),
            "gender": np.where(female, "F", "M"),
            "national_id": national_id,
            "passport_number": passport,
            "email": email,
            "phone": phone,
            "mobile": mobile,
            "address_line1": f_street[fam],
            "address_line2": f_rt[fam],
            "city": np.array([c[0] for c in CITIES], dtype=object)[city],
            "state_province": np.array([c[1] for c in CITIES], dtype=object)[city],
            "postal_code": f_postal[fam],
            "country": "ID",
            "status": status,
            "enrollment_date": date_column(enroll),
            "termination_date": date_column(term, term < NO_END),
        }
    )

    # Dependents: spouse and children of each subscriber.
    dep = np.flatnonzero(role > 0)
    dependent = pd.DataFrame(
        {
            "id": uuid_strings(rng, len(dep)),
            "member_id": ids[sub_of_family[fam[dep]]],
            "dependent_member_id": ids[dep],
            "relationship": np.where(role[dep] == 1, "spouse", "child"),
            "effective_date": date_column(enroll[dep]),
            "termination_date": date_column(term[dep], term[dep] < NO_END),
        }
    )

    # Cards: a digital card for everyone; a physical one for 40% (expired after five
    # years; 5% reported lost and replaced).
    physical = rng.random(n) < 0.4
    lost = physical & (rng.random(n) < 0.05)
    issue_p = enroll + rng.integers(7, 30, n)
    expiry_p = issue_p + 5 * 365
    replace_day = np.minimum(issue_p + rng.integers(30, 700, n), today - 1)
    card_member = np.concatenate([np.arange(n), np.flatnonzero(physical), np.flatnonzero(lost)])
    card_seq = np.concatenate(
        [np.ones(n, dtype=np.int64), np.full(int(physical.sum()), 2), np.full(int(lost.sum()), 3)]
    )
    card_type = np.where(card_seq == 1, "digital", "physical")
    issue = np.concatenate(
        [enroll, issue_p[physical], np.maximum(replace_day[lost], issue_p[lost])]
    )
    expiry = np.concatenate(
        [
            np.full(n, NO_END),
            expiry_p[physical],
            np.maximum(replace_day[lost], issue_p[lost]) + 5 * 365,
        ]
    )
    revoked = term[card_member] < NO_END
    card_status = np.select(
        [revoked, (card_seq == 2) & lost[card_member], expiry < today],
        ["revoked", "lost", "expired"],
        "active",
    )
    card = pd.DataFrame(
        {
            "id": uuid_strings(rng, len(card_member)),
            "member_id": ids[card_member],
            "card_number": compose(len(card_member), "8801", (card_member + 1, 9), (card_seq, 3)),
            "card_type": card_type,
            "issue_date": date_column(issue),
            "expiry_date": date_column(expiry, expiry < NO_END),
            "status": card_status,
        }
    )

    # Claim propensity: heavy-tailed (some members claim a lot), more with age.
    ctx.m_weight = rng.gamma(0.6, 1.0, n) * (0.6 + np.clip(age, 0, 80) / 50)
    ctx.m_id, ctx.m_dob, ctx.m_female = ids, dob, female
    ctx.m_enroll, ctx.m_term, ctx.m_family, ctx.m_role = enroll, term, fam, role
    ctx.f_scenario, ctx.f_plan1, ctx.f_plan2 = scenario, plan1, plan2
    ctx.f_enroll, ctx.f_corporate, ctx.f_size = f_enroll, corporate, size
    ctx.f_name = np.asarray(first[sub_of_family] + " " + last[sub_of_family], dtype=object)
    return {
        "member_service.member": member,
        "member_service.member_dependent": dependent,
        "member_service.member_card": card,
    }


def _coverage(ctx: _Context, rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    """Coverages and policies. Per family scenario: one open coverage (most); a plan
    change (old terminated the day before the new one starts; overlapping by a month for
    a few; with a two-month gap for others); a late or future start; cancelled ones;
    a lapse; the retired legacy plan replaced (or, for a few, still in force)."""
    assert ctx.m_id is not None and ctx.m_enroll is not None and ctx.m_term is not None
    assert ctx.m_family is not None and ctx.m_role is not None and ctx.plan_ids is not None
    assert ctx.f_scenario is not None and ctx.f_enroll is not None and ctx.f_plan1 is not None
    assert ctx.f_plan2 is not None and ctx.f_corporate is not None and ctx.f_size is not None
    assert ctx.f_name is not None
    today = ctx.today
    ws = today - WINDOW_DAYS
    legacy_end = today - LEGACY_END_DAYS_AGO
    fam, role, enroll, term = ctx.m_family, ctx.m_role, ctx.m_enroll, ctx.m_term
    scen = ctx.f_scenario.copy()
    n_fam = len(scen)
    f_enroll = ctx.f_enroll

    # Change date of the family (plan change, gap, lapse).
    c_lo = np.maximum(f_enroll + 60, ws - 100)
    c_hi = today - 30
    feasible = c_lo < c_hi
    change = c_lo + (rng.random(n_fam) * np.maximum(c_hi - c_lo, 1)).astype(np.int64)
    needs_change = np.isin(scen, [S_CHANGE, S_OVERLAP, S_GAP, S_LAPSED])
    scen = np.where(needs_change & ~feasible, S_NORMAL, scen)
    change = np.where(np.isin(scen, [S_LEGACY, S_LEGACY_STUCK]), legacy_end, change)
    delay = rng.integers(30, 120, n_fam)
    future_start = today + rng.integers(5, 30, n_fam)

    s = scen[fam]
    ch = change[fam]
    # First coverage.
    c1_eff = np.select(
        [s == S_LATE, s == S_FUTURE], [enroll + delay[fam], future_start[fam]], enroll
    )
    c1_eff = np.where(s == S_FUTURE, np.maximum(c1_eff, enroll), c1_eff)
    c1_end = np.select(
        [np.isin(s, [S_CHANGE, S_GAP, S_LEGACY]), s == S_OVERLAP, s == S_LAPSED],
        [ch - 1, ch + 29, ch],
        NO_END,
    )
    c1_end = np.minimum(c1_end, term)
    c1_status = np.where(
        np.isin(s, [S_CANCELLED, S_CANCEL_THEN]),
        "cancelled",
        np.where(c1_end < NO_END, "terminated", "active"),
    )
    # Second coverage.
    has2 = np.isin(s, [S_CHANGE, S_OVERLAP, S_GAP, S_CANCEL_THEN, S_LEGACY])
    c2_eff = np.select(
        [np.isin(s, [S_CHANGE, S_OVERLAP, S_LEGACY]), s == S_GAP, s == S_CANCEL_THEN],
        [ch, ch + 60, enroll + delay[fam]],
        NO_END,
    )
    c2_eff = np.where(has2, np.maximum(c2_eff, enroll), NO_END)
    # A dependent who joined after the first coverage ended has only the second one.
    only2 = has2 & (enroll > c1_end)
    has1 = ~only2
    c1_end = np.where(c1_end < c1_eff, c1_eff, c1_end)
    plan1 = ctx.f_plan1[fam]
    plan2 = np.where(s == S_CANCEL_THEN, plan1, ctx.f_plan2[fam])

    # Policies: corporate ones shared by many families; one policy per family and plan
    # stint otherwise.
    corp = ctx.f_corporate
    n_corp = max(3, int(corp.sum()) // 120)
    f_corp_policy = rng.integers(0, n_corp, n_fam)
    corp_ids = uuid_strings(rng, n_corp)
    pol1_ids = uuid_strings(rng, n_fam)
    pol2_ids = uuid_strings(rng, n_fam)
    f_pol1 = np.where(ctx.f_plan1 == P_CORP, corp_ids[f_corp_policy], pol1_ids)
    f_pol2 = np.where(ctx.f_plan2 == P_CORP, corp_ids[f_corp_policy], pol2_ids)
    policy1 = f_pol1[fam]
    policy2 = np.where(s == S_CANCEL_THEN, pol2_ids[fam], f_pol2[fam])

    level = np.select(
        [role == 1, role == 2],
        ["spouse", "child"],
        np.where(corp[fam], "employee", np.where(ctx.f_size[fam] == 1, "individual", "family")),
    )
    idx1 = np.flatnonzero(has1)
    idx2 = np.flatnonzero(has2)
    c2_end = term
    cov_member = np.concatenate([idx1, idx2])
    cov_plan = np.concatenate([plan1[idx1], plan2[idx2]])
    cov_eff = np.concatenate([c1_eff[idx1], c2_eff[idx2]])
    cov_end = np.concatenate([c1_end[idx1], np.maximum(c2_end[idx2], c2_eff[idx2])])
    cov_status = np.concatenate(
        [c1_status[idx1], np.where(c2_end[idx2] < NO_END, "terminated", "active")]
    )
    cov_policy = np.concatenate([policy1[idx1], policy2[idx2]])
    coverage = pd.DataFrame(
        {
            "id": uuid_strings(rng, len(cov_member)),
            "member_id": ctx.m_id[cov_member],
            "policy_id": cov_policy,
            "plan_id": ctx.plan_ids[cov_plan],
            "coverage_level": level[cov_member],
            "effective_date": date_column(cov_eff),
            "termination_date": date_column(cov_end, cov_end < NO_END),
            "status": cov_status,
        }
    )

    # Per member, for claims: the policy of the first coverage and of the second.
    ctx.c1_policy = np.where(has1, policy1, policy2)
    ctx.c2_policy = np.where(has1 & has2, policy2, policy1)
    ctx.c2_eff = np.where(has1 & has2, c2_eff, NO_END)
    ctx.m_plan_now = np.where(has2, plan2, plan1)
    ctx.m_covered = ~((s == S_CANCELLED) | (s == S_FUTURE))

    # Policy rows.
    fam_has2 = np.zeros(n_fam, dtype=bool)
    fam_has2[fam[has2]] = True
    f_end1 = np.full(n_fam, NO_END, dtype=np.int64)
    np.minimum.at(f_end1, fam, np.where(has1, c1_end, NO_END))
    f_eff1 = np.full(n_fam, NO_END, dtype=np.int64)
    np.minimum.at(f_eff1, fam, np.where(has1, c1_eff, NO_END))
    f_eff1 = np.where(f_eff1 == NO_END, f_enroll, f_eff1)
    f_end1 = np.where(f_end1 < f_eff1, f_eff1, f_end1)
    f_eff2 = np.full(n_fam, NO_END, dtype=np.int64)
    np.minimum.at(f_eff2, fam, c2_eff)
    f_status1 = np.select(
        [np.isin(scen, [S_CANCELLED, S_CANCEL_THEN]), scen == S_LAPSED, f_end1 < NO_END],
        ["cancelled", "lapsed", "expired"],
        "active",
    )
    own1 = ctx.f_plan1 != P_CORP
    own2 = fam_has2 & ((ctx.f_plan2 != P_CORP) | (scen == S_CANCEL_THEN))
    plan_premium = np.array([p.monthly_premium * 100 for p in PLANS], dtype=np.int64)
    freq_i = choose(rng, range(3), (0.6, 0.25, 0.15), n_fam)
    freq = np.array(["monthly", "quarterly", "annual"], dtype=object)[freq_i]
    months = np.array([1, 3, 12])[freq_i]
    fams1 = np.flatnonzero(own1)
    fams2 = np.flatnonzero(own2)
    p_plan = np.concatenate(
        [
            ctx.f_plan1[fams1],
            np.where(scen[fams2] == S_CANCEL_THEN, ctx.f_plan1[fams2], ctx.f_plan2[fams2]),
        ]
    )
    p_eff = np.concatenate([f_eff1[fams1], f_eff2[fams2]])
    p_exp = np.concatenate([f_end1[fams1], np.full(len(fams2), NO_END)])
    p_status = np.concatenate([f_status1[fams1], np.full(len(fams2), "active", dtype=object)])
    p_fam = np.concatenate([fams1, fams2])
    p_ids = np.concatenate([pol1_ids[fams1], pol2_ids[fams2]])
    premium = plan_premium[p_plan] * ctx.f_size[p_fam] * months[p_fam]
    corp_size = np.zeros(n_corp, dtype=np.int64)
    np.add.at(corp_size, f_corp_policy[corp], ctx.f_size[corp])
    corp_eff = today - rng.integers(4 * 365, 11 * 365, n_corp)
    np.minimum.at(corp_eff, f_corp_policy[corp], f_enroll[corp])  # before its first member
    all_ids = np.concatenate([corp_ids, p_ids])
    all_eff = np.concatenate([corp_eff, p_eff])
    all_exp = np.concatenate([np.full(n_corp, NO_END), p_exp])
    year_of = ymd(all_eff)[0]
    seq = np.arange(1, len(all_ids) + 1)
    policy = pd.DataFrame(
        {
            "id": all_ids,
            "policy_number": np.concatenate(
                [
                    compose(n_corp, "GRP-", (year_of[:n_corp], 4), "-", (seq[:n_corp], 7)),
                    compose(len(p_ids), "POL-", (year_of[n_corp:], 4), "-", (seq[n_corp:], 7)),
                ]
            ),
            "plan_id": ctx.plan_ids[np.concatenate([np.full(n_corp, P_CORP), p_plan])],
            "policyholder_type": np.concatenate(
                [
                    np.full(n_corp, "corporate", dtype=object),
                    np.full(len(p_ids), "individual", dtype=object),
                ]
            ),
            "policyholder_name": np.concatenate(
                [
                    ctx.pools.companies[rng.integers(0, len(ctx.pools.companies), n_corp)],
                    ctx.f_name[p_fam],
                ]
            ),
            "status": np.concatenate([np.full(n_corp, "active", dtype=object), p_status]),
            "effective_date": date_column(all_eff),
            "expiration_date": date_column(all_exp, all_exp < NO_END),
            "premium_amount": np.concatenate([plan_premium[P_CORP] * corp_size, premium]),
            "premium_frequency": np.concatenate(
                [np.full(n_corp, "monthly", dtype=object), freq[p_fam]]
            ),
            "currency": "IDR",
        }
    )
    ctx.policy_ids = all_ids
    return {"policy_service.policy": policy, "member_service.member_coverage": coverage}


# --- claims ------------------------------------------------------------------------------


def _claims(ctx: _Context, rng: np.random.Generator, n_claims: int) -> dict[str, pd.DataFrame]:
    assert ctx.m_id is not None and ctx.m_weight is not None and ctx.m_enroll is not None
    assert ctx.m_term is not None and ctx.m_dob is not None and ctx.m_female is not None
    assert ctx.prov_id is not None and ctx.prov_type is not None
    assert ctx.prov_price is not None and ctx.prov_weight is not None
    assert ctx.prov_in_network is not None and ctx.c1_policy is not None
    assert ctx.c2_policy is not None and ctx.c2_eff is not None and ctx.policy_ids is not None
    today = ctx.today
    ws, we = today - WINDOW_DAYS, today - 1
    n_members = len(ctx.m_id)

    n_dup = max(1, n_claims // 100) if n_claims >= 10 else 0  # resubmissions (R4)
    nb = n_claims - n_dup

    # Category, member, dates.
    cat = choose(rng, CATEGORIES, [c.share for c in CATEGORIES], nb)
    # Service dates fall within each member's enrollment, give or take 20 days for 30% of
    # members (claims just before enrollment or after termination: R2), never before birth.
    slop = np.where(rng.random(n_members) < 0.3, 20, 0)
    lo = np.maximum(ws, np.maximum(ctx.m_enroll - slop, ctx.m_dob + 1))
    hi = np.minimum(we, np.where(ctx.m_term < NO_END, ctx.m_term + slop, we))
    w = np.where(hi >= lo, ctx.m_weight, 0.0)
    if w.sum() == 0:
        w = np.ones(n_members)
    age_now = (today - ctx.m_dob) / 365.25
    mat_w = np.where(ctx.m_female & (age_now >= 16) & (age_now <= 50), w, 0.0)
    if mat_w.sum() == 0:
        mat_w = w
    member = rng.choice(n_members, size=nb, p=w / w.sum())
    is_mat = cat == CAT_INDEX["maternity"]
    member[is_mat] = rng.choice(n_members, size=int(is_mat.sum()), p=mat_w / mat_w.sum())
    span = np.maximum(hi[member] - lo[member], 0) + 1
    sd = lo[member] + (rng.random(nb) * span).astype(np.int64)
    sd = np.clip(sd, ws, we)
    stay = np.isin(cat, [CAT_INDEX["inpatient"], CAT_INDEX["maternity"]])
    long_stay = rng.random(nb) < 0.04
    los = np.where(
        cat == CAT_INDEX["maternity"],
        rng.integers(1, 5, nb),
        np.where(long_stay, rng.integers(15, 46, nb), rng.geometric(0.3, nb)),
    )
    los = np.where(stay, los, 0)
    sd = np.minimum(sd, we - los)
    discharge = sd + los

    # Provider by category.
    ptype_cdf = cdf_table([[s for _, s in c.providers] for c in CATEGORIES])
    ptype_choice = draw_rows(rng, ptype_cdf, cat)
    type_of = np.array(
        [
            [PROVIDER_TYPES.index(t) for t, _ in c.providers]
            + [0] * (ptype_cdf.shape[1] - len(c.providers))
            for c in CATEGORIES
        ]
    )
    want_type = type_of[cat, ptype_choice]
    provider = np.empty(nb, dtype=np.int64)
    for t in range(len(PROVIDER_TYPES)):
        rows = np.flatnonzero(want_type == t)
        cands = np.flatnonzero(ctx.prov_type == t)
        pw = ctx.prov_weight[cands]
        provider[rows] = cands[rng.choice(len(cands), size=len(rows), p=pw / pw.sum())]
    in_net = ctx.prov_in_network[provider]
    cashless = np.where(in_net, rng.random(nb) < 0.9, rng.random(nb) < 0.15)

    # Lines.
    n_lines = choose(rng, range(5), LINES_PER_CLAIM_P, nb) + 1
    lc, lno = segment_index(n_lines)
    nl = len(lc)
    main = np.array([BENEFIT_INDEX[c.main] for c in CATEGORIES])
    anc_cdf = cdf_table([[s for _, s in c.ancillary] for c in CATEGORIES])
    anc_codes = np.array(
        [
            [BENEFIT_INDEX[b] for b, _ in c.ancillary] + [0] * (anc_cdf.shape[1] - len(c.ancillary))
            for c in CATEGORIES
        ]
    )
    benefit = np.where(
        lno == 0, main[cat[lc]], anc_codes[cat[lc], draw_rows(rng, anc_cdf, cat[lc])]
    )
    procs_of = [[j for j, p in enumerate(PROCEDURES) if p[2] == b] for b in BENEFIT_CODES]
    proc_cdf = cdf_table([[PROCEDURES[j][4] for j in js] for js in procs_of])
    proc_codes = np.array([js + [js[0]] * (proc_cdf.shape[1] - len(js)) for js in procs_of])
    proc = proc_codes[benefit, draw_rows(rng, proc_cdf, benefit)]
    # A few major traumas even in small data sets: emergencies above an incident limit (A8).
    trauma = PROC_INDEX["IGD-TRM"]
    first_er = np.flatnonzero((lno == 0) & (cat[lc] == CAT_INDEX["emergency"]))
    proc[first_er[: max(0, 3 - int((proc == trauma).sum()))]] = trauma

    b = BENEFIT_INDEX
    claim_los = los[lc]
    qty = np.ones(nl, dtype=np.int64)
    qty = np.where(benefit == b["IP_ROOM"], np.maximum(claim_los, 1), qty)
    qty = np.where(
        benefit == b["IP_ICU"], np.minimum(np.maximum(claim_los, 1), rng.geometric(0.35, nl)), qty
    )
    qty = np.where(benefit == b["IP_DOCTOR"], np.maximum(claim_los, 1), qty)
    qty = np.where(benefit == b["PHARMACY"], np.minimum(rng.geometric(0.6, nl), 4), qty)
    qty = np.where(benefit == b["LAB"], np.minimum(rng.geometric(0.8, nl), 3), qty)

    unit = PROC_PRICE[proc] * ctx.prov_price[provider[lc]] * rng.lognormal(0.03, 0.12, nl)
    charged = np.clip(unit * qty, 50_000, 150_000_000)
    style = rng.random(nl)
    charged = np.where(
        style < 0.88,
        round_to(charged, 500),
        np.where(style < 0.98, np.round(charged), np.floor(charged) + 0.5),
    )
    charged = to_cents(np.clip(charged, 50_000, 150_000_000))

    # Diagnoses: one per claim, used on its lines; cosmetic procedures say so.
    diag_codes = sorted({d for c in CATEGORIES for d, _ in c.diagnoses})
    diag_index = {d: i for i, d in enumerate(diag_codes)}
    diag_arr = np.array(diag_codes, dtype=object)
    dcdf = cdf_table([[s for _, s in c.diagnoses] for c in CATEGORIES])
    dcodes = np.array(
        [
            [diag_index[d] for d, _ in c.diagnoses] + [0] * (dcdf.shape[1] - len(c.diagnoses))
            for c in CATEGORIES
        ]
    )
    claim_diag = dcodes[cat, draw_rows(rng, dcdf, cat)]
    # Sex-specific diagnoses follow the member's sex.
    female_only = np.array([d.startswith("O") or d.startswith("N97") for d in diag_codes])
    male_only = np.array([d.startswith("N40") for d in diag_codes])
    fem = ctx.m_female[member]
    fallback = dcodes[cat, 0]
    claim_diag = np.where(
        (female_only[claim_diag] & ~fem) | (male_only[claim_diag] & fem), fallback, claim_diag
    )
    line_diag = claim_diag[lc]
    cosmetic = np.isin(PROC_CODES[proc], COSMETIC_PROCS)
    line_diag = np.where(cosmetic, diag_index["Z41.1"], line_diag)
    ortho = PROC_CODES[proc] == "24.7"
    line_diag = np.where(ortho, diag_index["K07.3"], line_diag)

    # A repeated line inside a few claims (R4 within one claim).
    dup_line = (lno > 0) & (rng.random(nl) < 0.002)
    prev = np.arange(nl) - 1
    for arr in (benefit, proc, qty, charged, line_diag):
        arr[dup_line] = arr[prev[dup_line]]

    # Resubmissions: copies of earlier claims (same member, provider, date, lines).
    src = rng.integers(0, nb, n_dup) if nb else np.zeros(0, dtype=np.int64)
    claim_src = np.concatenate([np.arange(nb), src])
    is_copy = np.arange(n_claims) >= nb
    # The copied lines of each duplicate (a source may be copied twice).
    starts = np.cumsum(n_lines) - n_lines
    dup_counts = n_lines[src]
    dc, drank = segment_index(dup_counts)
    dup_line_src = starts[src][dc] + drank
    line_src = np.concatenate([np.arange(nl), dup_line_src])
    line_claim = np.concatenate([lc, nb + dc])
    line_no = np.concatenate([lno, drank]) + 1
    benefit_all = benefit[line_src]
    proc_all = proc[line_src]
    qty_all = qty[line_src]
    charged_all = charged[line_src].copy()
    diag_all = line_diag[line_src]

    c_member = member[claim_src]
    c_provider = provider[claim_src]
    c_cat = cat[claim_src]
    c_sd = sd[claim_src]
    c_discharge = discharge[claim_src]
    c_stay = stay[claim_src]
    c_cashless = cashless[claim_src]
    # Submitted a few days after the service (after discharge for stays); a resubmission
    # some days after its original.
    orig_sub = np.minimum(np.where(stay, discharge, sd) + rng.geometric(0.3, nb), we)
    sub_day = np.concatenate([orig_sub, np.minimum(orig_sub[src] + rng.integers(3, 30, n_dup), we)])

    # Malformed claims for R1 (about 2.5%), only among originals.
    nlt = len(line_claim)
    # 0 negative charge, 1 quantity 0, 2 no benefit code, 3 discharge < admission, 4 no lines
    claim_lines = np.bincount(line_claim, minlength=n_claims)
    kind = (
        choose(rng, range(6), (0.975, 0.006, 0.005, 0.005, 0.005, EMPTY_CLAIM_SHARE), n_claims) - 1
    )
    kind = np.where(is_copy, -1, kind)
    kind = np.where((kind == 3) & ~c_stay, -1, kind)
    kind = np.where((kind == 0) & (claim_lines < 2), -1, kind)
    eligible = [~is_copy & (claim_lines >= 2), ~is_copy, ~is_copy, ~is_copy & c_stay, ~is_copy]
    for k_i, ok in enumerate(eligible):  # at least one of each, even in small data sets
        if not (kind == k_i).any():
            cand = np.flatnonzero(ok & (kind == -1))
            if len(cand):
                kind[cand[0]] = k_i
    pick_line = np.searchsorted(line_claim, np.arange(n_claims), side="right") - 1  # last
    neg = kind == 0
    charged_all[pick_line[neg]] = -np.minimum(charged_all[pick_line[neg]], 5_000_000)
    qty_all[pick_line[kind == 1]] = 0
    no_benefit = np.zeros(nlt, dtype=bool)
    no_benefit[pick_line[kind == 2]] = True
    bad_dates = (kind == 3) & c_stay
    c_discharge = np.where(bad_dates, c_sd - rng.integers(1, 4, n_claims), c_discharge)
    keep = ~np.isin(line_claim, np.flatnonzero(kind == 4))
    # keep totals non-negative: a negative line is at most 50,000 and others are >= 50,000

    # Unknown members and providers (not in their services' tables).
    unknown_member = (~is_copy) & (kind == -1) & (rng.random(n_claims) < 0.003)
    unknown_provider = (~is_copy) & (kind == -1) & (rng.random(n_claims) < 0.003)
    for flags in (unknown_member, unknown_provider):
        if n_claims > 10 and not flags.any():
            flags[int(np.flatnonzero(~is_copy & (kind == -1))[-1])] = True

    # Claim order: by submission time; numbers CLM-YYYY-MM-NNNNNN per month (Jakarta).
    local_s = sub_day * 86_400 + rng.integers(8 * 3600, 21 * 3600, n_claims)
    order = np.lexsort((rng.random(n_claims), local_s))
    rank = np.empty(n_claims, dtype=np.int64)
    rank[order] = np.arange(n_claims)
    sy, sm, _ = ymd(sub_day)
    month_key = sy * 12 + (sm - 1)
    mk_sorted = month_key[order]
    first_in_month = np.searchsorted(mk_sorted, mk_sorted, side="left")
    seq_sorted = np.arange(n_claims) - first_in_month + 1
    width = max(6, len(str(int(seq_sorted.max())))) if n_claims else 6
    number_sorted = compose(
        n_claims,
        "CLM-",
        (mk_sorted // 12, 4),
        "-",
        (mk_sorted % 12 + 1, 2),
        "-",
        (seq_sorted, width),
    )
    claim_ids = uuid_strings(rng, n_claims)
    unknown_ids = uuid_strings(rng, n_claims, ordered=False)
    cid_of = claim_ids[rank]  # id of each claim (in generation order)

    member_id = np.where(unknown_member, unknown_ids, ctx.m_id[c_member])
    provider_id = np.where(unknown_provider, unknown_ids, ctx.prov_id[c_provider])
    policy_id = np.where(
        c_sd >= ctx.c2_eff[c_member], ctx.c2_policy[c_member], ctx.c1_policy[c_member]
    )
    line_keep = np.flatnonzero(keep)
    totals = np.zeros(n_claims, dtype=np.int64)
    np.add.at(totals, line_claim[line_keep], charged_all[line_keep])

    o = order
    sub_utc = pd.to_datetime(local_s[o] - JAKARTA_OFFSET_S, unit="s", utc=True).tz_convert(
        "Asia/Jakarta"
    )
    claim = pd.DataFrame(
        {
            "id": claim_ids,
            "claim_number": number_sorted,
            "member_id": member_id[o],
            "provider_id": provider_id[o],
            "policy_id": policy_id[o],
            "claim_type": np.where(c_cashless[o], "cashless", "reimbursement"),
            "service_type": np.array([c.service_type for c in CATEGORIES], dtype=object)[c_cat[o]],
            "admission_date": date_column(c_sd[o], c_stay[o]),
            "discharge_date": date_column(c_discharge[o], c_stay[o]),
            "service_date": date_column(c_sd[o]),
            "total_charged_amount": totals[o],
            "status": "submitted",
            "submission_date": sub_utc,
            "created_at": sub_utc,
            "updated_at": sub_utc,
            "created_by": np.where(c_cashless[o], "provider-portal", "member-app"),
        }
    )

    # Lines in claim order, with ids in the same order.
    li = line_keep[np.lexsort((line_no[line_keep], rank[line_claim[line_keep]]))]
    benefit_codes = np.array(BENEFIT_CODES, dtype=object)
    item = pd.DataFrame(
        {
            "id": uuid_strings(rng, len(li)),
            "claim_id": cid_of[line_claim[li]],
            "line_number": line_no[li],
            "benefit_code": np.where(no_benefit[li], None, benefit_codes[benefit_all[li]]),
            "procedure_code": PROC_CODES[proc_all[li]],
            "diagnosis_code": diag_arr[diag_all[li]],
            "quantity": qty_all[li],
            "charged_amount": charged_all[li],
        }
    )

    period_of_month = compose(n_claims, (mk_sorted // 12, 4), "-", (mk_sorted % 12 + 1, 2))
    counter = (
        pd.DataFrame({"period": period_of_month, "last_value": seq_sorted})
        .groupby("period")["last_value"]
        .max()
        .reset_index()
    )

    # What authorizations are made from: each original claim's preauth benefits.
    pre = np.isin(benefit_all, [BENEFIT_INDEX[x] for x in PREAUTH_BENEFITS]) & keep
    pre &= ~is_copy[line_claim] & ~unknown_member[line_claim] & ~no_benefit
    pre &= charged_all >= 0
    pl = np.flatnonzero(pre)
    src_df = (
        pd.DataFrame(
            {
                "claim": line_claim[pl],
                "benefit": benefit_all[pl],
                "charged": charged_all[pl],
            }
        )
        .groupby(["claim", "benefit"], as_index=False, sort=True)["charged"]
        .sum()
    )
    cl = src_df["claim"].to_numpy()
    ctx.auth_source = pd.DataFrame(
        {
            "member_id": member_id[cl],
            "provider_id": provider_id[cl],
            "benefit_code": benefit_codes[src_df["benefit"].to_numpy()],
            "diagnosis_code": diag_arr[claim_diag[claim_src[cl]]],
            "service_day": c_sd[cl],
            "requested": src_df["charged"].to_numpy(),
            "claim_id": cid_of[cl],
            "submitted_s": local_s[cl] - JAKARTA_OFFSET_S,
            "well_formed": (kind[cl] == -1) & ~unknown_provider[cl],
        }
    )
    used = keep & ~no_benefit & (kind[line_claim] == -1) & ~unknown_member[line_claim]
    ctx.usage = pd.DataFrame(
        {
            "member": c_member[line_claim[used]],
            "benefit": benefit_all[used],
            "year": ymd(c_sd[line_claim[used]])[0],
            "quantity": qty_all[used],
        }
    )
    return {
        "claims_service.claim": claim,
        "claims_service.claim_item": item,
        "claims_service.claim_number_counter": counter,
    }


# --- authorizations ----------------------------------------------------------------------


def _authorizations(ctx: _Context, rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    """One authorization per (claim, preauth benefit), in every state R9 distinguishes:
    approved for this provider or any; approved for another provider or expired (so
    missing); pending (the claim pends); denied or absent (PREAUTH_MISSING). Plus a
    backlog of pending requests for future stays."""
    assert ctx.auth_source is not None and ctx.prov_id is not None and ctx.m_id is not None
    assert ctx.doctor_names is not None and ctx.m_covered is not None
    today = ctx.today
    src = ctx.auth_source
    n = len(src)
    # 0 approved/provider, 1 approved/any, 2 approved/other provider, 3 approved/expired,
    # 4 pending, 5 denied, 6 none
    kind = choose(rng, range(7), (0.45, 0.23, 0.03, 0.03, 0.10, 0.06, 0.10), n)
    # Claims an earlier batch pended on a pending authorization (R9): submitted at least
    # three days ago; about a third of those authorizations were approved since.
    last_s = (today - 1) * 86_400 + 23 * 3600 - JAKARTA_OFFSET_S  # 23:00 yesterday, Jakarta
    sub_s = src["submitted_s"].to_numpy()
    can_pend = src["well_formed"].to_numpy() & (sub_s < last_s - 3 * 86_400)
    pend = (kind == 4) & can_pend
    if can_pend.any() and not pend.any():  # one, even in small data sets
        first = int(np.flatnonzero(can_pend)[0])
        pend[first] = True
        kind[first] = 4
    batch_s = np.minimum(sub_s + rng.integers(3600, 2 * 86_400, n), last_s - 86_400)
    resolved = pend & (rng.random(n) < 0.35)
    kind = np.where(resolved, 0, kind)
    ctx.pended = pd.DataFrame(
        {
            "claim_id": src["claim_id"].to_numpy()[pend],
            "benefit_code": src["benefit_code"].to_numpy()[pend],
            "batch_s": batch_s[pend],
        }
    )
    keep = kind != 6
    sdays = src["service_day"].to_numpy()
    valid_from = sdays - rng.integers(0, 15, n)
    valid_to = np.where(kind == 3, sdays - rng.integers(1, 10, n), sdays + rng.integers(14, 61, n))
    valid_from = np.minimum(valid_from, valid_to)
    other = ctx.prov_id[rng.integers(0, len(ctx.prov_id), n)]
    provider = nullable(kind != 1, np.where(kind == 2, other, src["provider_id"].to_numpy()))
    status = np.select([kind == 4, kind == 5], ["pending", "denied"], "approved")

    # Backlog: pending requests of covered members for stays still to come.
    nb = max(1, len(ctx.m_id) // 50)
    covered = np.flatnonzero(ctx.m_covered)
    bm = covered[rng.integers(0, len(covered), nb)] if len(covered) else np.zeros(nb, np.int64)
    b_from = today + rng.integers(3, 45, nb)
    b_benefit = np.array(PREAUTH_BENEFITS, dtype=object)[rng.integers(0, 2, nb)]

    k = np.flatnonzero(keep)
    req_day = np.concatenate(
        [valid_from[k] - rng.integers(0, 5, len(k)), today - rng.integers(0, 10, nb)]
    )
    req_day = np.minimum(req_day, today - 1)
    req_s = req_day * 86_400 + rng.integers(7 * 3600, 22 * 3600, len(req_day)) - JAKARTA_OFFSET_S
    all_status = np.concatenate([status[k], np.full(nb, "pending", dtype=object)])
    decided = all_status != "pending"
    dec_s = req_s + rng.integers(1800, 3 * 86_400, len(req_s))
    # An authorization approved after its claim was pended was decided after that batch.
    after_batch = batch_s + rng.integers(3600, 86_400, n)
    dec_s = np.where(
        np.concatenate([resolved[k], np.zeros(nb, dtype=bool)]),
        np.concatenate([after_batch[k], np.zeros(nb, dtype=np.int64)]),
        dec_s,
    )
    dec_s = np.minimum(dec_s, last_s)
    dec_s = np.maximum(dec_s, req_s)
    order = np.argsort(req_s, kind="stable")
    yy, mm, _ = ymd(req_day[order])
    number = compose(len(order), "PA-", (yy, 4), (mm, 2), "-", (np.arange(1, len(order) + 1), 7))
    req_ts = pd.to_datetime(req_s[order], unit="s", utc=True).tz_convert("Asia/Jakarta")
    dec_ts = pd.Series(pd.to_datetime(dec_s[order], unit="s", utc=True).tz_convert("Asia/Jakarta"))
    dec_ts[~decided[order]] = pd.NaT
    amounts = np.concatenate(
        [src["requested"].to_numpy()[k], to_cents(round_to(rng.uniform(5e6, 6e7, nb), 1000))]
    )
    notes = nullable(
        all_status != "approved",
        np.where(
            all_status == "denied",
            "Tidak sesuai indikasi medis",
            "Menunggu review dokter penasihat",
        ),
    )
    auth = pd.DataFrame(
        {
            "id": uuid_strings(rng, len(order)),
            "authorization_number": number,
            "member_id": np.concatenate([src["member_id"].to_numpy()[k], ctx.m_id[bm]])[order],
            "provider_id": np.concatenate([provider[k], np.full(nb, None, dtype=object)])[order],
            "benefit_code": np.concatenate([src["benefit_code"].to_numpy()[k], b_benefit])[order],
            "diagnosis_code": np.concatenate(
                [src["diagnosis_code"].to_numpy()[k], np.full(nb, "K35.8", dtype=object)]
            )[order],
            "requested_amount": amounts[order],
            "status": all_status[order],
            "valid_from": date_column(np.concatenate([valid_from[k], b_from])[order]),
            "valid_to": date_column(np.concatenate([valid_to[k], b_from + 30])[order]),
            "requested_at": req_ts,
            "decided_at": dec_ts,
            "decided_by": nullable(
                decided[order], ctx.doctor_names[rng.integers(0, len(ctx.doctor_names), len(order))]
            ),
            "notes": notes[order],
        }
    )
    return {"authorization_service.authorization": auth}


# --- pended claims ----------------------------------------------------------------------

BATCH_USER = "claim-adjudication"  # changed_by of the adjudication flow


def _pended_claims(
    ctx: _Context, rng: np.random.Generator, tables: dict[str, pd.DataFrame]
) -> dict[str, pd.DataFrame]:
    """Claims an earlier adjudication batch pended on a pending authorization, left as the
    flow leaves them (claim and lines `pended`, PREAUTH_PENDING, a status history row and
    a note): the next batch takes them again with the submitted ones."""
    assert ctx.pended is not None
    per_claim = (
        ctx.pended.sort_values(["claim_id", "batch_s", "benefit_code"])
        .drop_duplicates("claim_id")
        .set_index("claim_id")
    )
    claim = tables["claims_service.claim"].copy()
    item = tables["claims_service.claim_item"].copy()
    pended = claim["id"].isin(per_claim.index).to_numpy()
    claim_ids = claim["id"].to_numpy()[pended]
    batch_s = per_claim.loc[claim_ids, "batch_s"].to_numpy(np.int64)
    benefit = per_claim.loc[claim_ids, "benefit_code"].to_numpy(dtype=object)
    n = len(claim_ids)
    run_ids = uuid_strings(rng, 3, ordered=False)  # a few earlier flow runs
    run_of = run_ids[rng.integers(0, len(run_ids), n)]
    batch_ts = pd.to_datetime(batch_s, unit="s", utc=True).tz_convert("Asia/Jakarta")

    status = claim["status"].to_numpy(dtype=object).copy()
    status[pended] = "pended"
    updated = claim["updated_at"].copy()
    updated[pended] = batch_ts
    claim["status"] = status
    claim["updated_at"] = updated
    claim["updated_by"] = nullable(pended, BATCH_USER)
    claim["adjudicated_at"] = updated.where(pended)
    run_id = np.full(len(claim), None, dtype=object)
    run_id[pended] = run_of
    claim["adjudication_run_id"] = run_id
    claim["adjudication_version"] = pended.astype(np.int64)

    # Lines of pended claims, and when (integer seconds: tz-aware values one by one are slow).
    of_claim = pd.Index(claim_ids).get_indexer(item["claim_id"].to_numpy())
    line_pended = of_claim >= 0
    line_s = np.zeros(len(item), dtype=np.int64)
    line_s[line_pended] = batch_s[of_claim[line_pended]]
    item["status"] = np.where(line_pended, "pended", "submitted")
    item["reason_code"] = nullable(line_pended, "PREAUTH_PENDING")
    item["adjudicated_at"] = pd.Series(
        pd.to_datetime(line_s, unit="s", utc=True).tz_convert("Asia/Jakarta"), index=item.index
    ).where(line_pended)
    item["adjudication_version"] = line_pended.astype(np.int64)

    reason = "Menunggu keputusan pra-otorisasi " + benefit
    history = pd.DataFrame(
        {
            "claim_id": claim_ids,
            "from_status": "submitted",
            "to_status": "pended",
            "reason_code": "PREAUTH_PENDING",
            "reason": reason,
            "changed_by": BATCH_USER,
            "flow_run_id": run_of,
            "changed_at": batch_ts,
        }
    )
    note = pd.DataFrame(
        {
            "id": uuid_strings(rng, n),
            "claim_id": claim_ids,
            "note_type": "pend",
            "note_text": "Klaim ditunda: " + reason + "; diproses ulang setelah diputuskan.",
            "created_by": BATCH_USER,
            "created_at": batch_ts,
        }
    )
    return {
        "claims_service.claim": claim,
        "claims_service.claim_item": item,
        "claims_service.claim_status_history": history,
        "claims_service.claim_note": note,
    }


# --- accumulators ------------------------------------------------------------------------


def _accumulators(ctx: _Context, rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    """Running totals already posted this year for ~6% of members (some at or near their
    visit, day, annual and out-of-pocket limits), and earlier years' use of benefits with
    lifetime limits."""
    assert ctx.m_id is not None and ctx.m_plan_now is not None and ctx.m_covered is not None
    assert ctx.designs is not None
    year = ctx.as_of.year
    n = len(ctx.m_id)
    nb = len(BENEFIT_CODES)
    design_arr = {
        key: np.array(
            [
                [
                    np.nan if ctx.designs[p][c][key] is None else ctx.designs[p][c][key]
                    for c in BENEFIT_CODES
                ]
                for p in range(len(PLANS))
            ],
            dtype=np.float64,
        )
        for key in ("annual", "lifetime", "day", "visit", "deductible", "copay")
    }
    oop = np.array([np.nan if p.oop_max is None else p.oop_max for p in PLANS])

    chosen = ctx.m_covered & (rng.random(n) < 0.06)
    grid = chosen[:, None] & (rng.random((n, nb)) < 0.25)
    mi, bi = np.nonzero(grid)
    k = len(mi)
    plan = ctx.m_plan_now[mi]
    visit = design_arr["visit"][plan, bi]
    day = design_arr["day"][plan, bi]
    annual = design_arr["annual"][plan, bi]
    ded = design_arr["deductible"][plan, bi]
    copay = design_arr["copay"][plan, bi]
    near = rng.random(k) < 0.4
    visits = np.where(
        np.isnan(visit),
        rng.integers(0, 8, k),
        np.where(
            near,
            np.maximum(np.nan_to_num(visit) - rng.integers(0, 2, k), 0),
            rng.random(k) * np.nan_to_num(visit) * 0.6,
        ),
    )
    visits = np.where(_limited_by("visits")[bi], visits, 0).astype(np.int64)
    days = np.where(
        np.isnan(day),
        0,
        np.where(
            near,
            np.maximum(np.nan_to_num(day) - rng.integers(0, 4, k), 0),
            rng.random(k) * np.nan_to_num(day) * 0.5,
        ),
    ).astype(np.int64)
    amount = np.where(
        np.isnan(annual),
        rng.uniform(2e5, 5e6, k),
        np.nan_to_num(annual)
        * np.where(near, rng.uniform(0.85, 0.99, k), rng.uniform(0.05, 0.5, k)),
    )
    amount = round_to(amount, 500)
    ded_used = np.where(rng.random(k) < 0.7, ded, round_to(ded * rng.random(k), 500))
    oop_used = ded_used + copay * visits + round_to(amount * 0.05, 500)
    # A fifth of these members are close to their out-of-pocket maximum.
    plan_oop = oop[plan]
    heavy = (rng.random(n) < 0.2)[mi] & ~np.isnan(plan_oop)
    member_total = np.bincount(mi, weights=oop_used, minlength=n)[mi]
    target = np.nan_to_num(plan_oop) * rng.uniform(0.7, 0.98, k)
    scale = np.where(heavy & (member_total > 0), target / np.maximum(member_total, 1), 1.0)
    oop_used = np.where(heavy, round_to(oop_used * scale, 500), oop_used)
    oop_used = np.maximum(oop_used, ded_used)

    # Earlier years, for lifetime limits (1.5% of members, years Y-4 .. Y-1).
    life = design_arr["lifetime"]
    ann = design_arr["annual"]
    has_life = ~np.isnan(life[ctx.m_plan_now])  # (members, benefits)
    lgrid = has_life & (ctx.m_covered & (rng.random(n) < 0.015))[:, None]
    lm, lb = np.nonzero(lgrid)
    lp = ctx.m_plan_now[lm]
    per_year = np.fmin(ann[lp, lb], life[lp, lb] * 0.95 / 4)  # fmin: NaN = no annual
    yrs = 4
    lm_r = np.repeat(lm, yrs)
    lb_r = np.repeat(lb, yrs)
    ly = np.tile(np.arange(year - yrs, year), len(lm))
    l_amount = round_to(np.repeat(per_year, yrs) * rng.uniform(0.5, 1.0, len(lm_r)), 500)

    acc = pd.DataFrame(
        {
            "member_id": np.concatenate([ctx.m_id[mi], ctx.m_id[lm_r]]),
            "benefit_code": np.array(BENEFIT_CODES, dtype=object)[np.concatenate([bi, lb_r])],
            "year": np.concatenate([np.full(k, year), ly]),
            "amount_used": to_cents(np.concatenate([amount, l_amount])),
            "deductible_used": to_cents(np.concatenate([ded_used, np.zeros(len(lm_r))])),
            "oop_used": to_cents(np.concatenate([oop_used, np.zeros(len(lm_r))])),
            "visits_used": np.concatenate([visits, np.zeros(len(lm_r), dtype=np.int64)]),
            "days_used": np.concatenate([days, np.zeros(len(lm_r), dtype=np.int64)]),
        }
    )
    at_limit = _at_limit(ctx, rng, design_arr)
    lifetime = _lifetime_nearly_used(ctx, rng, design_arr)
    acc = pd.concat([at_limit, lifetime, acc], ignore_index=True)  # these win duplicates
    acc = acc.drop_duplicates(["member_id", "benefit_code", "year"], keep="first")
    acc = acc.reset_index(drop=True)
    opening = acc.copy()  # usage from before this system: the reconciliation's opening balance
    acc.insert(0, "id", uuid_strings(rng, len(acc)))
    return {"benefit_service.accumulator": acc, "benefit_service.accumulator_opening": opening}


def _lifetime_nearly_used(
    ctx: _Context, rng: np.random.Generator, design: dict[str, FloatArray]
) -> pd.DataFrame:
    """Earlier years' use of members who claim a benefit with a lifetime limit again, up to
    a little below that limit (A10 caps their new claims): one in twenty such (member,
    benefit) pairs, at least three. Each year stays within the annual limit."""
    assert ctx.usage is not None and ctx.m_id is not None and ctx.m_plan_now is not None
    use = ctx.usage
    member = use["member"].to_numpy()
    benefit = use["benefit"].to_numpy()
    plan = ctx.m_plan_now[member]
    pairs = pd.DataFrame(
        {
            "member": member,
            "benefit": benefit,
            "life": design["lifetime"][plan, benefit],
            "annual": design["annual"][plan, benefit],
        }
    )
    pairs = pairs[pairs["life"].notna()].drop_duplicates(["member", "benefit"])
    pick = rng.random(len(pairs)) < 0.05
    pick[: max(0, 3 - int(pick.sum()))] = True
    p = pairs[pick]
    target = p["life"].to_numpy() - round_to(rng.uniform(50_000, 500_000, len(p)), 500)
    annual = p["annual"].fillna(p["life"]).to_numpy()
    years = np.clip(np.ceil(target / annual), 1, 8).astype(np.int64)
    per_year = round_to(np.minimum(target / years, annual), 500)
    row = np.repeat(np.arange(len(p)), years)
    _, back = segment_index(years)
    first_claim_year = (ctx.as_of - timedelta(days=WINDOW_DAYS)).year
    return pd.DataFrame(
        {
            "member_id": ctx.m_id[p["member"].to_numpy()[row]],
            "benefit_code": np.array(BENEFIT_CODES, dtype=object)[p["benefit"].to_numpy()[row]],
            "year": first_claim_year - 1 - back,
            "amount_used": to_cents(per_year[row]),
            "deductible_used": np.zeros(len(row), dtype=np.int64),
            "oop_used": np.zeros(len(row), dtype=np.int64),
            "visits_used": np.zeros(len(row), dtype=np.int64),
            "days_used": np.zeros(len(row), dtype=np.int64),
        }
    )


def _at_limit(
    ctx: _Context, rng: np.random.Generator, design: dict[str, FloatArray]
) -> pd.DataFrame:
    """Accumulators of members whose seeded claims meet a visit or day limit: the year's
    visits or days already used up (R10, R11 reject), or one day short of it (R11 pays
    part of a longer stay). About 2% of the (member, benefit, year) the claims touch, at
    least a few of each kind, so small data sets reach these rules too."""
    assert ctx.usage is not None and ctx.m_id is not None and ctx.m_plan_now is not None
    use = ctx.usage
    member = use["member"].to_numpy()
    benefit = use["benefit"].to_numpy()
    plan = ctx.m_plan_now[member]
    day = design["day"][plan, benefit]
    visit = design["visit"][plan, benefit]
    touched = pd.DataFrame(
        {
            "member": member,
            "benefit": benefit,
            "year": use["year"],
            "day": day,
            "visit": visit,
            "quantity": use["quantity"],
        }
    )
    touched = touched[touched["day"].notna() | touched["visit"].notna()]
    touched = touched.groupby(["member", "benefit", "year"], as_index=False).agg(
        day=("day", "first"), visit=("visit", "first"), longest=("quantity", "max")
    )
    pick = rng.random(len(touched)) < 0.02
    long_stay = touched["longest"].to_numpy() >= 2
    for kind, least in (("day", 8), ("visit", 4)):  # even in small data sets
        has = touched[kind].notna().to_numpy()
        for more in (has & long_stay, has):  # longer stays first: they can be prorated
            short = int(max(0, least - (pick & has).sum()))
            pick[np.flatnonzero(more & ~pick)[:short]] = True
    t = touched[pick]
    k = len(t)
    # Days: used up, or (half of the longer stays) one short of the limit.
    one_short = (np.arange(k) % 2 == 0) & (t["longest"].to_numpy() >= 2)
    days_used = np.where(t["day"].notna(), t["day"].fillna(0) - one_short, 0)
    visits_used = np.where(t["visit"].notna(), t["visit"].fillna(0), 0)
    annual = design["annual"][ctx.m_plan_now[t["member"].to_numpy()], t["benefit"].to_numpy()]
    amount = round_to(np.nan_to_num(annual, nan=5e6) * rng.uniform(0.2, 0.5, k), 500)
    return pd.DataFrame(
        {
            "member_id": ctx.m_id[t["member"].to_numpy()],
            "benefit_code": np.array(BENEFIT_CODES, dtype=object)[t["benefit"].to_numpy()],
            "year": t["year"].to_numpy(np.int64),
            "amount_used": to_cents(amount),
            "deductible_used": np.zeros(k, dtype=np.int64),
            "oop_used": to_cents(round_to(amount * 0.1, 500)),
            "visits_used": visits_used.astype(np.int64),
            "days_used": days_used.astype(np.int64),
        }
    )


def _limited_by(kind: str) -> BoolArray:
    """Which benefits (by index) are limited by `kind` ('visits', 'days', 'amount')."""
    return np.array([b[3] == kind for b in BENEFITS])
