"""The standard column names and units of a measurement, its steps table and its cycles table.

Names carry their unit in brackets (``"Time [s]"``) exactly as the Ionworks API and ionworksdata
spell them; every module that reads or writes a column takes the name from here.
"""

from __future__ import annotations

# Time series ---------------------------------------------------------------------------------
TIME = "Time [s]"
CURRENT = "Current [A]"
VOLTAGE = "Voltage [V]"
POWER = "Power [W]"
TEMPERATURE = "Temperature [degC]"
FREQUENCY = "Frequency [Hz]"
STEP_COUNT = "Step count"
CYCLE_COUNT = "Cycle count"
STEP_FROM_CYCLER = "Step from cycler"
CYCLE_FROM_CYCLER = "Cycle from cycler"
FRAME = "Frame"
DISCHARGE_CAPACITY = "Discharge capacity [A.h]"
CHARGE_CAPACITY = "Charge capacity [A.h]"
DISCHARGE_ENERGY = "Discharge energy [W.h]"
CHARGE_ENERGY = "Charge energy [W.h]"
Z_RE = "Z_Re [Ohm]"
Z_IM = "Z_Im [Ohm]"
Z_MOD = "Z_Mod [Ohm]"
Z_PHASE = "Z_Phase [deg]"
DC_RESISTANCE = "DC resistance [Ohm]"
CAPACITY = "Capacity [A.h]"
SOC = "SOC"
STOICHIOMETRY = "Stoichiometry"
OCP_VOLTAGE_ALIASES = (
    "OCP [V]",
    "OCV [V]",
    "Open-circuit potential [V]",
    "Open-circuit voltage [V]",
)
"""Names an OCP table may give its voltage; a DataLoader without steps reads them as VOLTAGE."""

REQUIRED = (TIME, CURRENT, VOLTAGE)
"""Every time series has these three."""

CUMULATIVE = (DISCHARGE_CAPACITY, CHARGE_CAPACITY, DISCHARGE_ENERGY, CHARGE_ENERGY)
"""Counted up within each step from zero (so they restart at every step)."""

OPTIONAL_FLOAT = (
    TEMPERATURE,
    FREQUENCY,
    Z_RE,
    Z_IM,
    Z_MOD,
    Z_PHASE,
    DC_RESISTANCE,
    DISCHARGE_CAPACITY,
    CHARGE_CAPACITY,
    DISCHARGE_ENERGY,
    CHARGE_ENERGY,
    POWER,
)
"""Optional columns that are numbers by definition (cast to Float64 like the required ones)."""

# Steps table ---------------------------------------------------------------------------------
START_INDEX = "Start index"
END_INDEX = "End index"
START_TIME = "Start time [s]"
END_TIME = "End time [s]"
START_VOLTAGE = "Start voltage [V]"
END_VOLTAGE = "End voltage [V]"
MIN_VOLTAGE = "Min voltage [V]"
MAX_VOLTAGE = "Max voltage [V]"
STD_VOLTAGE = "Std voltage [V]"
MEAN_VOLTAGE = "Mean voltage [V]"
MIN_CURRENT = "Min current [A]"
MAX_CURRENT = "Max current [A]"
STD_CURRENT = "Std current [A]"
MEAN_CURRENT = "Mean current [A]"
MIN_POWER = "Min power [W]"
MAX_POWER = "Max power [W]"
STD_POWER = "Std power [W]"
MEAN_POWER = "Mean power [W]"
MIN_FREQUENCY = "Min frequency [Hz]"
MAX_FREQUENCY = "Max frequency [Hz]"
STD_FREQUENCY = "Std frequency [Hz]"
MEAN_FREQUENCY = "Mean frequency [Hz]"
DURATION = "Duration [s]"
STEP_TYPE = "Step type"
CYCLE_CHARGE_CAPACITY = "Cycle charge capacity [A.h]"
CYCLE_DISCHARGE_CAPACITY = "Cycle discharge capacity [A.h]"
CYCLE_CHARGE_ENERGY = "Cycle charge energy [W.h]"
CYCLE_DISCHARGE_ENERGY = "Cycle discharge energy [W.h]"

STEPS: tuple[str, ...] = (
    START_INDEX,
    END_INDEX,
    START_TIME,
    END_TIME,
    START_VOLTAGE,
    END_VOLTAGE,
    DISCHARGE_CAPACITY,
    CHARGE_CAPACITY,
    DISCHARGE_ENERGY,
    CHARGE_ENERGY,
    MIN_VOLTAGE,
    MAX_VOLTAGE,
    STD_VOLTAGE,
    MEAN_VOLTAGE,
    MIN_CURRENT,
    MAX_CURRENT,
    STD_CURRENT,
    MEAN_CURRENT,
    MIN_POWER,
    MAX_POWER,
    STD_POWER,
    MEAN_POWER,
    MIN_FREQUENCY,
    MAX_FREQUENCY,
    STD_FREQUENCY,
    MEAN_FREQUENCY,
    STEP_COUNT,
    STEP_FROM_CYCLER,
    CYCLE_COUNT,
    CYCLE_FROM_CYCLER,
    # FRAME is inserted here when the series carries it.
    DURATION,
    STEP_TYPE,
    CYCLE_CHARGE_CAPACITY,
    CYCLE_DISCHARGE_CAPACITY,
    CYCLE_CHARGE_ENERGY,
    CYCLE_DISCHARGE_ENERGY,
)
"""Full column order of the steps table the API serves."""

# Cycles table --------------------------------------------------------------------------------
CYCLE_DURATION = "Cycle duration [s]"
COULOMBIC_EFFICIENCY = "Coulombic efficiency"
ENERGY_EFFICIENCY = "Energy efficiency"
CAPACITY_RETENTION = "Capacity retention"
CAPACITY_FADE = "Capacity fade"
ENERGY_RETENTION = "Energy retention"
ENERGY_FADE = "Energy fade"
MEAN_DISCHARGE_CURRENT = "Mean discharge current [A]"
DISCHARGE_DURATION = "Discharge duration [s]"
MEAN_CHARGE_CURRENT = "Mean charge current [A]"
CHARGE_DURATION = "Charge duration [s]"
MEAN_TEMPERATURE = "Mean temperature [degC]"
CAPACITY_THROUGHPUT = "Capacity throughput [A.h]"
ENERGY_THROUGHPUT = "Energy throughput [W.h]"

CYCLES: tuple[str, ...] = (
    CYCLE_COUNT,
    DISCHARGE_CAPACITY,
    CHARGE_CAPACITY,
    DISCHARGE_ENERGY,
    CHARGE_ENERGY,
    MIN_VOLTAGE,
    MAX_VOLTAGE,
    CYCLE_DURATION,
    START_TIME,
    COULOMBIC_EFFICIENCY,
    ENERGY_EFFICIENCY,
    CAPACITY_RETENTION,
    CAPACITY_FADE,
    ENERGY_RETENTION,
    ENERGY_FADE,
    MEAN_DISCHARGE_CURRENT,
    DISCHARGE_DURATION,
    MEAN_CHARGE_CURRENT,
    CHARGE_DURATION,
    MEAN_TEMPERATURE,
    CAPACITY_THROUGHPUT,
    ENERGY_THROUGHPUT,
)
"""Full column order of the cycles table; the energy and temperature columns are left out when
the steps table cannot provide them."""

ENERGY_CYCLES = frozenset(
    {
        DISCHARGE_ENERGY,
        CHARGE_ENERGY,
        ENERGY_EFFICIENCY,
        ENERGY_RETENTION,
        ENERGY_FADE,
        ENERGY_THROUGHPUT,
    }
)
"""Cycles-table columns that need energies in the steps table."""
