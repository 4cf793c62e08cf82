"""clabfs for Python: epyc's ClusterLab over a clabfs mount.

    from clabfs import ClusterLab
    lab = ClusterLab(mount="/home/me/lab")   # or ClusterLab() for a lab of its own
    lab["x"] = range(10)
    lab.runExperiment(MyExperiment())         # returns at once
    lab.wait()
    df = lab.dataframe()

ClusterLab is an epyc.Lab when epyc imports (so epyc's notebooks, designs
and dataframes work as with epyc's own ClusterLab), and a standalone class
with the same names otherwise. See clabfs.ClusterLab(3) and the README's
"Python: clabfs.ClusterLab".
"""
from .clusterlab import ClusterLab, CancelledException  # noqa: F401

__version__ = "0.1.0"
__all__ = ["ClusterLab", "CancelledException"]
