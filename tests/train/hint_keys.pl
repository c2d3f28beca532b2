# hint_keys.pl — prints "FILE KEY" for every config key (section.key) named in a hint: the
# string literals from "hint:" to the end of the call (perl -0777 -n, one file at a time).
while (/hint:(.*?)\)\s*;/sg) { my $m = '"' . $1; while ($m =~ /"((?:[^"\\]|\\.)*)"/g) { my $s = $1; while ($s =~ /\b((?:model|data|train|checkpoint|run|comms|coordinator|slurm|preview)\.[a-z_0-9]+)/g) { print "$ARGV $1\n" } } }
