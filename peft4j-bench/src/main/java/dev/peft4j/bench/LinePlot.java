package dev.peft4j.bench;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import javax.imageio.ImageIO;

/**
 * Side-by-side line charts drawn with Java2D and written as PNG: each panel has named series of
 * (x, y) points on a log₂ x axis (sequence lengths double) and a linear y axis from 0.
 */
public final class LinePlot {
  private static final Color[] COLORS = {
      new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c), new Color(0x9467bd), new Color(0xff7f0e)};

  /** One chart: title, axis labels and series by name. */
  public static final class Panel {
    final String title;
    final String xLabel;
    final String yLabel;
    final Map<String, List<double[]>> series = new LinkedHashMap<>();

    public Panel(String title, String xLabel, String yLabel) {
      this.title = title;
      this.xLabel = xLabel;
      this.yLabel = yLabel;
    }

    public Panel point(String series, double x, double y) {
      this.series.computeIfAbsent(series, k -> new ArrayList<>()).add(new double[] {x, y});
      return this;
    }
  }

  private LinePlot() {}

  /** Draws {@code panels} left to right, each {@code panelWidth x height}, into a PNG file. */
  public static void write(Path file, int panelWidth, int height, List<Panel> panels) throws IOException {
    BufferedImage image = new BufferedImage(panelWidth * panels.size(), height, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = image.createGraphics();
    try {
      g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
      g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
      g.setColor(Color.WHITE);
      g.fillRect(0, 0, image.getWidth(), image.getHeight());
      for (int i = 0; i < panels.size(); i++) {
        draw(g, panels.get(i), i * panelWidth, panelWidth, height);
      }
    } finally {
      g.dispose();
    }
    Path parent = file.toAbsolutePath().getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    ImageIO.write(image, "png", file.toFile());
  }

  private static void draw(Graphics2D g, Panel p, int x0, int width, int height) {
    int left = x0 + 70;
    int right = x0 + width - 20;
    int top = 40;
    int bottom = height - 90;
    double minX = Double.MAX_VALUE;
    double maxX = -Double.MAX_VALUE;
    double maxY = 0;
    for (List<double[]> pts : p.series.values()) {
      for (double[] pt : pts) {
        minX = Math.min(minX, pt[0]);
        maxX = Math.max(maxX, pt[0]);
        maxY = Math.max(maxY, pt[1]);
      }
    }
    if (minX > maxX) {
      return;
    }
    double lx0 = log2(minX);
    double lx1 = Math.max(log2(maxX), lx0 + 1);
    double yMax = niceCeiling(maxY);
    g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 14));
    g.setColor(Color.BLACK);
    g.drawString(p.title, left, top - 15);
    g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
    // grid and y ticks
    for (int i = 0; i <= 5; i++) {
      int y = bottom - (int) Math.round((bottom - top) * i / 5.0);
      g.setColor(new Color(0xe0e0e0));
      g.drawLine(left, y, right, y);
      g.setColor(Color.DARK_GRAY);
      String label = format(yMax * i / 5);
      g.drawString(label, left - 8 - g.getFontMetrics().stringWidth(label), y + 4);
    }
    // x ticks at each distinct x
    java.util.TreeSet<Double> xs = new java.util.TreeSet<>();
    p.series.values().forEach(pts -> pts.forEach(pt -> xs.add(pt[0])));
    for (double x : xs) {
      int px = left + (int) Math.round((right - left) * (log2(x) - lx0) / (lx1 - lx0));
      g.setColor(new Color(0xe0e0e0));
      g.drawLine(px, top, px, bottom);
      g.setColor(Color.DARK_GRAY);
      String label = format(x);
      g.drawString(label, px - g.getFontMetrics().stringWidth(label) / 2, bottom + 15);
    }
    g.setColor(Color.BLACK);
    g.drawRect(left, top, right - left, bottom - top);
    g.drawString(p.xLabel, (left + right) / 2 - g.getFontMetrics().stringWidth(p.xLabel) / 2, bottom + 32);
    Graphics2D rotated = (Graphics2D) g.create();
    rotated.rotate(-Math.PI / 2);
    rotated.drawString(p.yLabel, -(top + bottom) / 2 - g.getFontMetrics().stringWidth(p.yLabel) / 2, x0 + 14);
    rotated.dispose();
    // series
    int s = 0;
    int legendY = bottom + 50;
    int legendX = left;
    for (Map.Entry<String, List<double[]>> e : p.series.entrySet()) {
      Color c = COLORS[s++ % COLORS.length];
      g.setColor(c);
      g.setStroke(new BasicStroke(2f));
      int[] prev = null;
      for (double[] pt : e.getValue()) {
        int px = left + (int) Math.round((right - left) * (log2(pt[0]) - lx0) / (lx1 - lx0));
        int py = bottom - (int) Math.round((bottom - top) * pt[1] / yMax);
        g.fillOval(px - 3, py - 3, 7, 7);
        if (prev != null) {
          g.drawLine(prev[0], prev[1], px, py);
        }
        prev = new int[] {px, py};
      }
      g.setStroke(new BasicStroke(1f));
      g.fillRect(legendX, legendY - 8, 14, 8);
      g.setColor(Color.BLACK);
      g.drawString(e.getKey(), legendX + 18, legendY);
      legendX += 26 + g.getFontMetrics().stringWidth(e.getKey());
      if (legendX > right - 80) {
        legendX = left;
        legendY += 16;
      }
    }
  }

  private static double log2(double v) {
    return Math.log(Math.max(v, 1e-12)) / Math.log(2);
  }

  /** The smallest of 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 or 10 times a power of ten that is at least {@code v}. */
  static double niceCeiling(double v) {
    if (v <= 0) {
      return 1;
    }
    double p = Math.pow(10, Math.floor(Math.log10(v)));
    for (double m : new double[] {1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10}) {
      if (m * p >= v) {
        return m * p;
      }
    }
    return 10 * p;
  }

  private static String format(double v) {
    if (v == Math.rint(v) && Math.abs(v) < 1e9) {
      return String.format(Locale.ROOT, "%,d", (long) v);
    }
    return String.format(Locale.ROOT, "%.2g", v);
  }
}
