# Plots for SIMULATION.md from the data the commands there write into `dir`.
#   gnuplot -e "dir='build/swimsim-results'; out='simulations/swimsim-plots'" simulations/plot_swimsim.gp
# Inputs (all in dir):
#   detect-n20.txt detect-n100.txt detect-n1000.txt  one "dead everywhere" time (ms) per run
#   detect-n10000.txt                                 the same, N = 10,000 (few runs)
#   ml-noeager-cdf.csv ml-eager-cdf.csv               --cdf of the memberlist-model runs
#   lifeguard.dat                                     mode stall_ms fp_healthy fp_stalled
#   n5-sim.txt n5-real.txt                            dead-everywhere times (ms), N = 5
if (!exists("dir")) dir = 'build/swimsim-results'
if (!exists("out")) out = 'simulations/swimsim-plots'
set terminal pngcairo size 900,560 font ",11" noenhanced
set datafile separator whitespace
set grid

# 1. failure detection: time until every member marks a killed node dead, CDF over runs
set output out.'/detect-cdf.png'
set title "fail1, default timings: time until every live member marks the victim dead"
set xlabel "ms after the kill"
set ylabel "fraction of runs"
set key bottom right
set yrange [0:1.02]
plot dir.'/detect-n20.txt' u 1:(1.0) smooth cnorm lw 2 t 'N = 20 (200 seeds)', \
     dir.'/detect-n100.txt' u 1:(1.0) smooth cnorm lw 2 t 'N = 100 (200 seeds)', \
     dir.'/detect-n1000.txt' u 1:(1.0) smooth cnorm lw 2 t 'N = 1,000 (30 seeds)', \
     dir.'/detect-n10000.txt' u 1:(0.5) w p pt 7 ps 1.5 t 'N = 10,000 (single runs)'

# 2. memberlist's convergence model: 10,000 nodes, gossip 200 ms, fanout 3
set output out.'/memberlist-model.png'
set title "N = 10,000, gossip_interval 200 ms, gossip_nodes 3: members that know of the failure"
set xlabel "ms after the kill"
set ylabel "fraction of live members"
set datafile separator ","
set key bottom right
set logscale y 10
set yrange [0.00005:1.5]
set format y "%g"
set arrow 1 from graph 0, first 0.9999 to graph 1, first 0.9999 nohead dt 2
set label 1 "99.99%" at graph 0.02, first 0.6
plot dir.'/ml-noeager-cdf.csv' u 2:3 w steps lw 2 t 'our code, eager push off (memberlist-like)', \
     dir.'/ml-eager-cdf.csv' u 2:3 w steps lw 2 t 'our code, eager push 3 (default)'
unset logscale y
unset arrow 1
unset label 1
set format y "%g"
set datafile separator whitespace

# 3. Lifeguard on/off under CPU stalls: false dead declarations
set output out.'/lifeguard.png'
set title "N = 100, 10% of nodes stall (0.5-1.5 x S) every ~10 s, 3 x 600 s: false dead declarations"
set style data histograms
set style histogram rowstacked
set style fill solid 0.8 border -1
set boxwidth 0.7
set xlabel "Lifeguard mode / stall length S"
set ylabel "declarations"
set key top left
set yrange [0:*]
set xtics rotate by -30
plot dir.'/lifeguard.dat' u 4:xtic(sprintf("%s %ss", stringcolumn(1), stringcolumn(2))) t 'stalled node declared dead', \
     '' u 3 t 'healthy node declared dead'
set xtics norotate

# 4. N = 5: simulator against the real agents in namespaces
set output out.'/n5-sim-vs-real.png'
set style data lines
set title "N = 5, kill one node: time until every survivor marks it dead"
set xlabel "ms after the kill"
set ylabel "fraction of runs"
set yrange [0:1.02]
set key bottom right
plot dir.'/n5-sim.txt' u 1:(1.0) smooth cnorm lw 2 t 'swimsim (200 seeds)', \
     dir.'/n5-real.txt' u 1:(1.0) smooth cnorm lw 2 t 'real agents, simulations/cluster (10 kills)'

# 5. the --csv timeline of the N = 10,000 fail1 run: traffic per node and who knows
#    of the failure (n10k.csv: t_s,pkts,bytes,msgs,tcp_bytes,live,...,learned_frac)
set output out.'/n10k-timeline.png'
set datafile separator ","
set title "N = 10,000, fail1 at t = 5 s (--csv, 100 ms buckets)"
set xlabel "simulated s"
set ylabel "UDP datagrams / node / s"
set y2label "fraction that marked the victim dead"
set y2tics
set ytics nomirror
set yrange [0:*]
set y2range [0:1.05]
set xrange [0:30]
set key center right
plot dir.'/n10k.csv' u 1:($2 / $6 / 0.1) every ::1 w l lw 1 t 'datagrams per node per s', \
     '' u 1:11 every ::1 axes x1y2 w l lw 2 t 'learned fraction'
