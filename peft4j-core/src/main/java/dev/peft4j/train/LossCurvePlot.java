package dev.peft4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.Path2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.TreeMap;
import javax.imageio.ImageIO;

/**
 * Draws training (and evaluation) loss against optimizer step as a PNG, with Java2D: axes
 * with tick labels, axis titles, a title and a legend. Training loss is a blue line,
 * evaluation loss an orange line with markers. Non-finite points are left out.
 */
public final class LossCurvePlot {
  /** Width in pixels of {@link #write(Path, List, List)} and of the trainer's plot. */
  public static final int DEFAULT_WIDTH = 800;
  /** Height in pixels of {@link #write(Path, List, List)} and of the trainer's plot. */
  public static final int DEFAULT_HEIGHT = 500;

  private static final Color TRAIN = new Color(31, 119, 180);
  private static final Color EVAL = new Color(255, 127, 14);
  private static final int LEFT = 80;
  private static final int RIGHT = 30;
  private static final int TOP = 45;
  private static final int BOTTOM = 60;

  /** One point of a curve. */
  public record Point(long step, double loss) {}

  private LossCurvePlot() {}

  /** {@link #write(Path, List, List, int, int)} at {@value #DEFAULT_WIDTH}×{@value #DEFAULT_HEIGHT}. */
  public static void write(Path png, List<Point> train, List<Point> eval) throws IOException {
    write(png, train, eval, DEFAULT_WIDTH, DEFAULT_HEIGHT);
  }

  /**
   * Writes the plot of {@code train} and {@code eval} (either may be empty) to {@code png}.
   *
   * @throws IllegalArgumentException if the size is below 200×150
   */
  public static void write(Path png, List<Point> train, List<Point> eval, int width, int height)
      throws IOException {
    if (width < 200 || height < 150) {
      throw new IllegalArgumentException("plot must be at least 200x150 pixels: " + width + "x" + height);
    }
    List<Point> t = finite(train);
    List<Point> e = finite(eval);
    BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = image.createGraphics();
    try {
      g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
      g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
      g.setColor(Color.WHITE);
      g.fillRect(0, 0, width, height);
      new Canvas(g, width, height, t, e).draw();
    } finally {
      g.dispose();
    }
    if (!ImageIO.write(image, "png", png.toFile())) {
      throw new IOException("no PNG writer available");
    }
  }

  /**
   * Plots the train and eval lines of a {@link MetricsLog} file (the last line of each step
   * wins, as after a resume) to {@code png}.
   */
  public static void writeFromMetrics(Path metricsJsonl, Path png, int width, int height) throws IOException {
    TreeMap<Long, Double> train = new TreeMap<>();
    TreeMap<Long, Double> eval = new TreeMap<>();
    for (JsonNode line : MetricsLog.read(metricsJsonl)) {
      String type = line.path("type").asText();
      if (type.equals("train") && line.hasNonNull("loss")) {
        train.put(line.get("step").asLong(), line.get("loss").asDouble());
      } else if (type.equals("eval") && line.hasNonNull("eval_loss")) {
        eval.put(line.get("step").asLong(), line.get("eval_loss").asDouble());
      }
    }
    write(png, points(train), points(eval), width, height);
  }

  private static List<Point> points(TreeMap<Long, Double> byStep) {
    List<Point> out = new ArrayList<>();
    byStep.forEach((s, l) -> out.add(new Point(s, l)));
    return out;
  }

  private static List<Point> finite(List<Point> points) {
    return points.stream().filter(p -> Double.isFinite(p.loss())).toList();
  }

  /** The plot area and its data-to-pixel mapping. */
  private static final class Canvas {
    final Graphics2D g;
    final int width;
    final int height;
    final List<Point> train;
    final List<Point> eval;
    final double[] xTicks;
    final double[] yTicks;

    Canvas(Graphics2D g, int width, int height, List<Point> train, List<Point> eval) {
      this.g = g;
      this.width = width;
      this.height = height;
      this.train = train;
      this.eval = eval;
      double xMin = Double.POSITIVE_INFINITY;
      double xMax = Double.NEGATIVE_INFINITY;
      double yMin = Double.POSITIVE_INFINITY;
      double yMax = Double.NEGATIVE_INFINITY;
      for (List<Point> series : List.of(train, eval)) {
        for (Point p : series) {
          xMin = Math.min(xMin, p.step());
          xMax = Math.max(xMax, p.step());
          yMin = Math.min(yMin, p.loss());
          yMax = Math.max(yMax, p.loss());
        }
      }
      if (xMin > xMax) { // no data
        xMin = 0;
        xMax = 1;
        yMin = 0;
        yMax = 1;
      }
      xTicks = ticks(Math.min(0, xMin), xMax);
      yTicks = ticks(yMin, yMax);
    }

    double xMin() {
      return xTicks[0];
    }

    double xMax() {
      return xTicks[xTicks.length - 1];
    }

    int px(double step) {
      return LEFT + (int) Math.round((step - xMin()) / (xMax() - xMin()) * (width - LEFT - RIGHT));
    }

    int py(double loss) {
      double lo = yTicks[0];
      double hi = yTicks[yTicks.length - 1];
      return height - BOTTOM - (int) Math.round((loss - lo) / (hi - lo) * (height - TOP - BOTTOM));
    }

    void draw() {
      Font base = new Font(Font.SANS_SERIF, Font.PLAIN, 12);
      g.setFont(base);
      FontMetrics fm = g.getFontMetrics();
      // grid and tick labels
      g.setStroke(new BasicStroke(1f));
      for (double x : xTicks) {
        g.setColor(new Color(230, 230, 230));
        g.drawLine(px(x), TOP, px(x), height - BOTTOM);
        g.setColor(Color.DARK_GRAY);
        String label = format(x);
        g.drawString(label, px(x) - fm.stringWidth(label) / 2, height - BOTTOM + fm.getAscent() + 6);
      }
      for (double y : yTicks) {
        g.setColor(new Color(230, 230, 230));
        g.drawLine(LEFT, py(y), width - RIGHT, py(y));
        g.setColor(Color.DARK_GRAY);
        String label = format(y);
        g.drawString(label, LEFT - fm.stringWidth(label) - 8, py(y) + fm.getAscent() / 2 - 1);
      }
      // axes
      g.setColor(Color.BLACK);
      g.drawLine(LEFT, height - BOTTOM, width - RIGHT, height - BOTTOM);
      g.drawLine(LEFT, TOP, LEFT, height - BOTTOM);
      // axis titles and title
      String xTitle = "step";
      g.drawString(xTitle, LEFT + (width - LEFT - RIGHT - fm.stringWidth(xTitle)) / 2, height - 15);
      Graphics2D rotated = (Graphics2D) g.create();
      rotated.rotate(-Math.PI / 2);
      String yTitle = "loss";
      rotated.drawString(yTitle, -(TOP + (height - TOP - BOTTOM + fm.stringWidth(yTitle)) / 2), 20);
      rotated.dispose();
      g.setFont(base.deriveFont(Font.BOLD, 14f));
      String title = eval.isEmpty() ? "Training loss" : "Training and evaluation loss";
      g.drawString(title, (width - g.getFontMetrics().stringWidth(title)) / 2, 28);
      g.setFont(base);
      // curves
      line(train, TRAIN, false);
      line(eval, EVAL, true);
      legend(fm);
    }

    void line(List<Point> points, Color color, boolean markers) {
      if (points.isEmpty()) {
        return;
      }
      g.setColor(color);
      g.setStroke(new BasicStroke(2f, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND));
      Path2D path = new Path2D.Double();
      for (int i = 0; i < points.size(); i++) {
        Point p = points.get(i);
        if (i == 0) {
          path.moveTo(px(p.step()), py(p.loss()));
        } else {
          path.lineTo(px(p.step()), py(p.loss()));
        }
      }
      g.draw(path);
      if (markers || points.size() == 1) {
        for (Point p : points) {
          g.fillOval(px(p.step()) - 3, py(p.loss()) - 3, 7, 7);
        }
      }
    }

    void legend(FontMetrics fm) {
      List<String> labels = new ArrayList<>();
      List<Color> colors = new ArrayList<>();
      labels.add("train loss");
      colors.add(TRAIN);
      if (!eval.isEmpty()) {
        labels.add("eval loss");
        colors.add(EVAL);
      }
      int rowHeight = fm.getHeight() + 4;
      int boxWidth = 40 + labels.stream().mapToInt(fm::stringWidth).max().orElse(0);
      int x = width - RIGHT - boxWidth - 10;
      int y = TOP + 10;
      g.setColor(new Color(255, 255, 255, 230));
      g.fillRect(x, y, boxWidth, rowHeight * labels.size() + 6);
      g.setColor(Color.GRAY);
      g.setStroke(new BasicStroke(1f));
      g.drawRect(x, y, boxWidth, rowHeight * labels.size() + 6);
      for (int i = 0; i < labels.size(); i++) {
        int rowY = y + 4 + i * rowHeight + rowHeight / 2;
        g.setColor(colors.get(i));
        g.setStroke(new BasicStroke(2f));
        g.drawLine(x + 6, rowY, x + 28, rowY);
        g.setColor(Color.BLACK);
        g.drawString(labels.get(i), x + 34, rowY + fm.getAscent() / 2 - 1);
      }
    }
  }

  /** About five "nice" tick values (1, 2 or 5 × 10ⁿ apart) covering {@code [lo, hi]}. */
  static double[] ticks(double lo, double hi) {
    if (hi - lo < 1e-12 * Math.max(1, Math.abs(hi))) {
      double pad = Math.max(Math.abs(hi) * 0.1, 1e-3);
      lo -= pad;
      hi += pad;
    }
    double step = niceStep((hi - lo) / 5);
    double first = Math.floor(lo / step) * step;
    double last = Math.ceil(hi / step) * step;
    int n = (int) Math.round((last - first) / step) + 1;
    double[] out = new double[n];
    for (int i = 0; i < n; i++) {
      out[i] = first + i * step;
    }
    return out;
  }

  private static double niceStep(double rough) {
    double magnitude = Math.pow(10, Math.floor(Math.log10(rough)));
    double fraction = rough / magnitude;
    double nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10;
    return nice * magnitude;
  }

  private static String format(double v) {
    if (Math.abs(v) < 1e-12) {
      return "0";
    }
    if (v == Math.rint(v) && Math.abs(v) < 1e7) {
      return Long.toString((long) v);
    }
    String s = String.format(Locale.ROOT, "%.4g", v);
    if (s.contains(".") && !s.contains("e")) {
      s = s.replaceAll("0+$", "").replaceAll("\\.$", "");
    }
    return s;
  }
}
