import java.util.HashMap;
import java.util.Map;

/**
 * The JVM workload of the real-software end-to-end suite. It holds a HashMap of ENTRIES entries
 * and a hash chain: line n carries chain(n) = mix(chain(n-1) ^ n), so a reader can check that
 * every line follows from the one before it (nothing restarted, skipped or replayed). Every
 * 50th line it recomputes the map's checksum from the heap and prints it.
 */
public final class Counter {
  static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  static long checksum(Map<Integer, String> map) {
    long sum = 0;
    for (Map.Entry<Integer, String> e : map.entrySet()) sum += mix(e.getKey() ^ e.getValue().hashCode());
    return sum;
  }

  public static void main(String[] args) throws InterruptedException {
    int entries = args.length > 0 ? Integer.parseInt(args[0]) : 200_000;
    long periodMs = args.length > 1 ? Long.parseLong(args[1]) : 20;
    Map<Integer, String> map = new HashMap<>();
    for (int i = 0; i < entries; i++) map.put(i, "entry-" + (i * 2654435761L % 1_000_003L));
    System.out.println("ready entries=" + map.size() + " checksum=" + Long.toHexString(checksum(map)));
    long chain = 0x9E3779B97F4A7C15L;
    for (long n = 1; ; n++) {
      chain = mix(chain ^ n);
      System.out.println("tick " + System.currentTimeMillis() + " " + n + " " + Long.toHexString(chain));
      if (n % 50 == 0)
        System.out.println("verify entries=" + map.size() + " checksum=" + Long.toHexString(checksum(map)));
      Thread.sleep(periodMs);
    }
  }
}
