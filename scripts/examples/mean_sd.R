#!/usr/bin/env Rscript
# Mean and standard deviation of one result per value of one parameter,
# read from a clabfs results.csv and plotted with R's base graphics:
#
#   Rscript mean_sd.R MOUNT/results/TAG/results.csv PARAM RESULT OUT.png
#
# e.g. Rscript mean_sd.R ~/lab/results/sir/results.csv beta final_size sir.png
# It also prints the table it plots, one line per parameter value:
# value, number of results, mean, standard deviation (NA for one result).
args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 4)
    stop("usage: Rscript mean_sd.R RESULTS.csv PARAM RESULT OUT.png")
csv <- args[1]; param <- args[2]; result <- args[3]; out <- args[4]

# check.names = FALSE keeps the column names as clabfs writes them.
d <- read.csv(csv, check.names = FALSE, stringsAsFactors = FALSE)
for (col in c(param, result))
    if (!(col %in% names(d))) stop(sprintf("%s: no column %s", csv, col))
d <- d[!is.na(d[[result]]), ]

x <- sort(unique(d[[param]]))
groups <- lapply(x, function(v) d[[result]][d[[param]] == v])
t <- data.frame(value = x,
                n = sapply(groups, length),
                mean = sapply(groups, mean),
                sd = sapply(groups, function(g) if (length(g) > 1) sd(g) else NA))

for (i in seq_len(nrow(t)))
    cat(sprintf("%s %d %.6f %s\n", format(t$value[i]), t$n[i], t$mean[i],
                if (is.na(t$sd[i])) "NA" else sprintf("%.6f", t$sd[i])))

lo <- t$mean - ifelse(is.na(t$sd), 0, t$sd)
hi <- t$mean + ifelse(is.na(t$sd), 0, t$sd)
png(out, width = 800, height = 600, type = "cairo")
plot(t$value, t$mean, ylim = range(lo, hi), pch = 19, xlab = param,
     ylab = sprintf("%s (mean \u00b1 sd)", result),
     main = sprintf("%s by %s (%d results)", result, param, sum(t$n)))
lines(t$value, t$mean)
ok <- hi > lo
if (any(ok))
    arrows(t$value[ok], lo[ok], t$value[ok], hi[ok], angle = 90, code = 3,
           length = 0.05)
invisible(dev.off())
