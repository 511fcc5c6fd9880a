package dev.rotor.testkit.drill;

import static org.assertj.core.api.Assertions.assertThat;

import dev.rotor.testkit.drill.DrillChart.Mark;
import java.awt.Color;
import java.awt.image.BufferedImage;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class DrillChartTest {
  private static final Color TICK = new Color(0x12, 0x34, 0x56);
  private static final Color LINE = new Color(0x65, 0x43, 0x21);
  private static final Color UNUSED = new Color(0x0f, 0xed, 0xcb);

  @Test
  void eachMark_isDrawnInItsColour_andOnlyWhereItsEventHappened() {
    DrillTimeline timeline = new DrillTimeline(List.of("a", "b"), Duration.ofSeconds(5), Duration.ofSeconds(20));
    timeline.record(new DrillTimeline.Attempt("a", Duration.ofSeconds(1), Duration.ofSeconds(2), true, ""));
    timeline.record(new DrillTimeline.Attempt("b", Duration.ofSeconds(6), Duration.ofSeconds(7), false, "refused"));
    timeline.event(Duration.ofSeconds(3), "tick event");
    timeline.event(Duration.ofSeconds(12), "line event");
    List<Mark> marks = List.of(Mark.tick("tick event", TICK, "ticks"), Mark.line("line event", LINE, "a line"),
        Mark.tick("never happened", UNUSED, "unused"));

    BufferedImage chart = DrillChart.render(timeline, "test", marks);

    assertThat(chart.getHeight()).isEqualTo(DrillChart.height(2, marks));
    assertThat(DrillChart.pixels(chart, TICK)).as("tick pixels beyond the legend swatch").isGreaterThan(12 * 12);
    assertThat(DrillChart.pixels(chart, LINE)).as("dashed line pixels beyond the legend swatch").isGreaterThan(12 * 12);
    assertThat(DrillChart.pixels(chart, UNUSED)).as("only the legend swatch").isEqualTo(12 * 12);
    assertThat(DrillChart.pixels(chart, DrillChart.OK)).isGreaterThan(12 * 12);
    assertThat(DrillChart.pixels(chart, DrillChart.FAILED)).isGreaterThan(12 * 12);
  }

  @Test
  void moreTickMarks_makeRoomAboveTheLanes() {
    assertThat(DrillChart.height(3, List.of(Mark.tick("x", TICK, "x"), Mark.tick("y", TICK, "y"))))
        .isGreaterThan(DrillChart.height(3, List.of(Mark.tick("x", TICK, "x"))));
  }
}
