# Plots one result against one parameter from a clabfs results.tsv with
# gnuplot, one point per result, into a PNG:
#
#   gnuplot -e "tsv='MOUNT/results/TAG/results.tsv'; x='beta'; y='final_size'; out='sir.png'" plot.gp
#
# results.tsv is tab-separated with one header row: columns are picked by
# name, and an empty cell (a result without that key) is skipped.
if (!exists("tsv") || !exists("x") || !exists("y") || !exists("out")) {
    print "usage: gnuplot -e \"tsv='results.tsv'; x='PARAM'; y='RESULT'; out='plot.png'\" plot.gp"
    exit status 2
}
set datafile separator "\t"
set datafile columnheaders
set terminal pngcairo size 800,600
set output out
set xlabel x noenhanced
set ylabel y noenhanced
set title sprintf("%s against %s", y, x) noenhanced
set key off
set grid
stats tsv using x:y nooutput
set offsets graph 0.05, graph 0.05, graph 0.05, graph 0.05
plot tsv using x:y with points pointtype 7 pointsize 1.2
print sprintf("%d points", STATS_records)
